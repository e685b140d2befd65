/**
 * The native fast path behind the {@link Datapath} interface: tables and
 * counters live in the addon (native/), worker threads move the frames, and
 * this class only forwards table updates, reads the shared counter block and
 * hands captured frames to their listeners.
 */
import { closeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { DEFAULT_REPLAY_WINDOW, type KeyringState } from '../crypto/index.js';
import { loadAddon, type Addon, type DatapathHandle, type NativeDropEvent, type NativeIngressResult, type NativePuntItem, type NativeTrace, type OffloadStats } from './addon.js';
import {
  COUNTER_SLOTS,
  DROP_REASONS,
  TRACE_STAGES,
  countersFromSlots,
  type CapturedFrame,
  type Datapath,
  type DatapathCounters,
  type DatapathOptions,
  type DropReason,
  type DropSample,
  type EgressResult,
  type FrameTrace,
  type IngressResult,
  type MulticastSettings,
  type NetworkAttachment,
  type NetworkEncryption,
  type PeerCounters,
  type ReceivedProbe,
  type SaInfo,
  type WorkerCounters,
} from './datapath.js';
import type { CaptureSpec } from './capture-spec.js';
import { EspPlanner, type PlannedSa, type SaSink } from './esp-plan.js';

/** Errors of the native data path that are not errno failures. */
export class NativeDatapathError extends Error {
  readonly code: 'ERR_NATIVE_UNSUPPORTED' | 'ERR_NETWORK_EXISTS' | 'ERR_NO_SUCH_NETWORK' | 'ERR_COUNTER_LAYOUT' | 'ERR_NO_RAW_ESP';

  constructor(code: NativeDatapathError['code'], message: string) {
    super(message);
    this.name = 'NativeDatapathError';
    this.code = code;
  }
}

const DEFAULT_SOURCE_PORTS = 8;
/** RFC 3948's ESP-in-UDP port. */
const DEFAULT_ESP_PORT = 4500;

/** The SaSink of the native path: every SA the planner hands out goes into the C tables. */
class NativeSaSink implements SaSink {
  constructor(private readonly handle: DatapathHandle) {}

  inboundAdd(e: PlannedSa, windowTop: number): void {
    const { sa } = e;
    this.handle.saInboundAdd(e.vni, e.peer, e.spi, sa.key, sa.salt, sa.esn, e.keyTag, DEFAULT_REPLAY_WINDOW, windowTop);
  }

  inboundDelete(e: PlannedSa): void {
    this.handle.saInboundDelete(e.vni, e.peer, e.spi, e.keyTag);
  }

  outboundSet(e: PlannedSa, lastUsed: number): void {
    const { sa } = e;
    this.handle.saOutboundSet(e.vni, e.peer, e.spi, sa.key, sa.salt, sa.esn, e.keyTag, lastUsed);
  }

  outboundDelete(vni: number, peer: string): void {
    this.handle.saOutboundDelete(vni, peer);
  }
}

/** Options of the native path (workers, busyPollUs and realtimeWorker are its own). */
export type NativeDatapathOptions = DatapathOptions;

/** Default of {@link DatapathOptions.busyPollUs}: long enough for a reply across two agents on one machine. */
export const DEFAULT_BUSY_POLL_US = 200;

function dropName(index: number | undefined): DropReason | undefined {
  if (index === undefined) return undefined;
  const reason = DROP_REASONS[index];
  if (reason === undefined) throw new RangeError(`native drop reason ${index} is outside DROP_REASONS`);
  return reason;
}

/** A native trace record in the form of FrameTrace (flowHash only once a payload was made, as the reference path has it). */
function traceOf(t: NativeTrace): FrameTrace {
  const trace: FrameTrace = { stage: TRACE_STAGES[t.stage], pieces: t.pieces, payloadLen: t.payloadLen, replyLen: t.replyLen };
  const drop = dropName(t.verdict < 0 ? undefined : t.verdict);
  if (drop !== undefined) trace.drop = drop;
  if (t.vtep !== undefined) trace.vtep = t.vtep;
  if (t.pieces > 0) trace.flowHash = t.flowHash;
  if (t.sa !== undefined) trace.sa = t.sa;
  if (t.vteps !== undefined) trace.vteps = [...t.vteps].sort(); // `vtep` is the one the trace followed (egress.c trace_list)
  return trace;
}

function ingressOf(r: NativeIngressResult): IngressResult {
  const drop = dropName(r.drop);
  const result: IngressResult = drop !== undefined ? { drop } : { vni: r.vni, frame: r.frame, ...(r.probe && { probe: r.probe }) };
  if (r.trace !== undefined) result.trace = traceOf(r.trace);
  return result;
}

function noRawEsp(vni: number): NativeDatapathError {
  return new NativeDatapathError(
    'ERR_NO_RAW_ESP',
    `network ${vni} carries ESP as IP protocol 50, but the raw socket could not be opened (needs CAP_NET_RAW); use carrier udp`,
  );
}

/** The C fast path: TAP ↔ VXLAN/UDP in worker threads, decisions of docs/datapath.md in the stages of native/pipeline/ (egress.c, ingress.c). */
export class NativeDatapath implements Datapath {
  readonly kind = 'native' as const;
  private readonly addon: Addon;
  private readonly handle: DatapathHandle;
  private readonly slots: BigUint64Array;
  private readonly rows: number;
  private readonly captures = new Map<number, (f: CapturedFrame) => void>();
  private dropListener: ((d: DropSample) => void) | null = null;
  /** Samples the full queue lost (native/io/drop_events.h). */
  dropSamplesLost = 0;
  private probeListener: ((p: ReceivedProbe) => void) | null = null;
  private membershipListener: ((vni: number, frame: Buffer) => void) | null = null;
  private readonly taps = new Map<number, string>();
  private readonly planner: EspPlanner;
  private running = false;
  private boundPort = 0;
  /** Worker threads, and queues opened on each TAP. */
  readonly workers: number;

  constructor(readonly options: NativeDatapathOptions) {
    this.addon = loadAddon();
    if (this.addon.counterSlots !== COUNTER_SLOTS) {
      throw new NativeDatapathError(
        'ERR_COUNTER_LAYOUT',
        `addon has ${this.addon.counterSlots} counter slots, datapath.ts ${COUNTER_SLOTS}: rebuild the addon`,
      );
    }
    this.workers = Math.min(options.workers ?? availableParallelism(), this.addon.maxWorkers);
    this.handle = new this.addon.DatapathHandle(
      options.bindAddress,
      options.dataPort,
      options.sourcePorts ?? DEFAULT_SOURCE_PORTS,
      options.realtimeWorker ?? false,
      options.espPort ?? DEFAULT_ESP_PORT,
      this.workers,
      options.busyPollUs ?? DEFAULT_BUSY_POLL_US,
    );
    this.slots = new BigUint64Array(this.handle.counters);
    this.rows = this.addon.counterRows;
    this.planner = new EspPlanner(options.vtepAddress ?? options.bindAddress, new NativeSaSink(this.handle), options.sequenceStart, options.windowStart);
  }

  /** The ESP-in-UDP port bound (differs from options.espPort only when that was 0); 0 before start. */
  get espPort(): number {
    return this.running ? this.handle.espPort() : 0;
  }

  /** The UDP port the data socket is bound to (differs from options.dataPort only when that was 0). */
  get dataPort(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (!this.addon.supported) {
      throw new NativeDatapathError('ERR_NATIVE_UNSUPPORTED', this.addon.unsupportedReason ?? 'native data path unsupported');
    }
    this.boundPort = this.handle.start((items, drops, lost) => {
      this.onPunt(items);
      if (drops !== undefined) this.onDrops(drops, lost ?? 0);
    });
    this.running = true;
    const ipNetworks = [...this.taps.keys()].filter((vni) => this.planner.encryption(vni)?.carrier === 'ip');
    if (ipNetworks.length > 0 && !this.handle.espRaw()) {
      await this.stop();
      throw noRawEsp(ipNetworks[0]);
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.handle.stop();
    this.running = false;
  }

  addNetwork(net: NetworkAttachment): void {
    if (this.taps.has(net.vni)) throw new NativeDatapathError('ERR_NETWORK_EXISTS', `network ${net.vni} is already attached`);
    if (!this.addon.supported) {
      throw new NativeDatapathError('ERR_NATIVE_UNSUPPORTED', this.addon.unsupportedReason ?? 'native data path unsupported');
    }
    if (net.encryption?.carrier === 'ip' && this.running && !this.handle.espRaw()) throw noRawEsp(net.vni);
    if (net.encryption !== undefined) this.planner.addNetwork(net.vni, net.encryption);
    let fds: number[] = [];
    try {
      const noUdpOffload = this.options.udpOffload === false;
      fds = this.addon.tapOpenQueues(net.tapName, { vnetHdr: true, persist: true, nonBlocking: true, noUdpOffload }, this.workers);
      this.handle.networkSet(net.vni, net.mtu, fds, net.encryption && { carrier: net.encryption.carrier }, net.multicast && { rate: net.multicast.rate });
    } catch (err) {
      for (const fd of fds) closeSync(fd);
      this.planner.removeNetwork(net.vni);
      throw err;
    }
    this.taps.set(net.vni, net.tapName);
  }

  /**
   * Registers a network without a TAP: the tables and processEgress/processIngress/
   * processEsp work, nothing is read or written. For tests and the differential harness.
   */
  addDetachedNetwork(vni: number, mtu: number, encryption?: NetworkEncryption, multicast?: MulticastSettings): void {
    if (encryption !== undefined) this.planner.addNetwork(vni, encryption);
    this.handle.networkSet(vni, mtu, -1, encryption && { carrier: encryption.carrier }, multicast && { rate: multicast.rate });
  }

  removeNetwork(vni: number): void {
    this.planner.removeNetwork(vni);
    this.handle.networkRemove(vni);
    this.taps.delete(vni);
    this.captures.delete(vni);
  }

  fdbSet(vni: number, mac: string, vtep: string): void {
    this.handle.fdbSet(vni, mac, vtep);
    this.planner.fdbSet(vni, mac, vtep);
  }

  fdbDelete(vni: number, mac: string): void {
    this.handle.fdbDelete(vni, mac);
    this.planner.fdbDelete(vni, mac);
  }

  setKeys(vni: number, ring: KeyringState): void {
    this.planner.setKeys(vni, ring);
  }

  securityAssociations(vni?: number): SaInfo[] {
    return this.handle.saList(vni);
  }

  neighSet(vni: number, ip: string, mac: string): void {
    this.handle.neighSet(vni, ip, mac);
  }

  neighDelete(vni: number, ip: string): void {
    this.handle.neighDelete(vni, ip);
  }

  /** FDB entries of `vni` pointing at `vtep`: the VTEP refcount the ingress check uses. */
  vtepRefs(vni: number, vtep: string): number {
    return this.handle.vtepRefs(vni, vtep);
  }

  /** What the TSO/GSO/GRO offloads did since start (diagnostics). */
  offloadStats(): OffloadStats {
    return this.handle.offloadStats();
  }

  counters(): DatapathCounters {
    return countersFromSlots(this.sumRows(0, this.rows));
  }

  workerCounters(): WorkerCounters[] {
    const workers: WorkerCounters[] = [];
    for (let w = 0; w < this.workers; w++) {
      // Rows 1 + 2w (TAP → UDP) and 2 + 2w (UDP → TAP): native/datapath/datapath.h.
      const c = countersFromSlots(this.sumRows(1 + 2 * w, 3 + 2 * w));
      const drops = Object.values(c.drops).reduce((a, b) => a + b, 0);
      workers.push({ worker: w, tx: c.tx, rx: c.rx, drops });
    }
    return workers;
  }

  /** Counter rows [from, to) summed slot by slot. */
  private sumRows(from: number, to: number): number[] {
    const sums = new Array<number>(COUNTER_SLOTS).fill(0);
    for (let row = from; row < to; row++) {
      const base = row * COUNTER_SLOTS;
      for (let i = 0; i < COUNTER_SLOTS; i++) sums[i] += Number(this.slots[base + i]);
    }
    return sums;
  }

  setCapture(vni: number, listener: ((f: CapturedFrame) => void) | null, spec: CaptureSpec = { inner: true, outer: false }): void {
    if (listener === null) {
      this.captures.delete(vni);
      this.handle.captureSet(vni, {}); // nothing to mirror: off
      return;
    }
    if (!this.handle.captureSet(vni, spec)) throw new NativeDatapathError('ERR_NO_SUCH_NETWORK', `network ${vni} is not attached`);
    this.captures.set(vni, listener);
  }

  sendProbe(vni: number, vtep: string, frame: Buffer): DropReason | undefined {
    const verdict = this.handle.probeSend(vni, vtep, frame);
    return dropName(verdict < 0 ? undefined : verdict);
  }

  setProbeListener(listener: ((p: ReceivedProbe) => void) | null): void {
    this.probeListener = listener;
  }

  groupSet(vni: number, mac: string, vteps: string[]): void {
    this.handle.groupSet(vni, mac, vteps);
  }

  groups(vni: number): Map<string, string[]> {
    const rows = this.handle.groups(vni) ?? [];
    return new Map(rows.map((g) => [g.mac, [...g.vteps].sort()]));
  }

  setMembershipListener(listener: ((vni: number, frame: Buffer) => void) | null): void {
    this.membershipListener = listener;
  }

  injectFrame(vni: number, frame: Buffer): boolean {
    return this.handle.inject(vni, frame);
  }

  peerCounters(): PeerCounters[] {
    return this.handle.peerCounters();
  }

  processEgress(vni: number, frame: Buffer, trace = false): EgressResult {
    const r = this.handle.processEgress(vni, frame, trace);
    const result: EgressResult = { out: r.out, reply: r.reply };
    const drop = dropName(r.drop);
    if (drop !== undefined) result.drop = drop;
    if (r.membership) result.membership = true;
    if (r.trace !== undefined) result.trace = traceOf(r.trace);
    return result;
  }

  processIngress(srcAddress: string, payload: Buffer, trace = false): IngressResult {
    return ingressOf(this.handle.processIngress(srcAddress, payload, trace));
  }

  processEsp(srcAddress: string, packet: Buffer): IngressResult {
    return ingressOf(this.handle.processEsp(srcAddress, packet));
  }

  sourcePort(flowHash: number): number | undefined {
    return this.running ? this.handle.sourcePort(flowHash >>> 0) : undefined;
  }

  traceEsp(srcAddress: string, spi: number, payload: Buffer): IngressResult {
    return ingressOf(this.handle.traceEsp(srcAddress, spi, payload));
  }

  setDropListener(listener: ((d: DropSample) => void) | null): void {
    this.dropListener = listener;
  }

  networkDrops(vni: number): Record<DropReason, number> | undefined {
    const raw = this.handle.networkDrops(vni);
    return raw === null ? undefined : (Object.fromEntries(DROP_REASONS.map((r, i) => [r, raw[i]])) as Record<DropReason, number>);
  }

  private onDrops(events: NativeDropEvent[], lost: number): void {
    this.dropSamplesLost = lost;
    for (const e of events) this.dropListener?.({ ...e, reason: DROP_REASONS[e.reason] });
  }

  private onPunt(items: NativePuntItem[]): void {
    for (const item of items) {
      if (item.direction === 'probe') {
        if (item.vtep !== undefined) this.probeListener?.({ vni: item.vni, vtep: item.vtep, frame: item.frame });
        continue;
      }
      if (item.direction === 'membership') {
        this.membershipListener?.(item.vni, item.frame);
        continue;
      }
      const listener = this.captures.get(item.vni);
      if (listener === undefined) continue;
      const frame: CapturedFrame = { vni: item.vni, direction: item.direction as CapturedFrame['direction'], frame: item.frame };
      if (item.vtep !== undefined) frame.vtep = item.vtep;
      if (item.outer !== undefined) frame.outer = item.outer;
      listener(frame);
    }
  }
}

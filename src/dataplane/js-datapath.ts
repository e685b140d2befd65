/**
 * The TypeScript reference path with its own I/O: TAP frames read through
 * libuv's thread pool, VXLAN through node:dgram. Slow next to the native path
 * but complete, and the yardstick the native path is tested against. The
 * decisions themselves are in ./process.ts.
 *
 * Encrypted networks: the SAs come from an EspPlanner into an EspSaStore the
 * processor reads; ESP travels through a node:dgram socket on the ESP port
 * (ESP-in-UDP) and, once a network uses carrier `ip`, a raw IP protocol 50
 * socket (./raw-socket.ts).
 *
 * Multicast networks: the processor replicates a group frame into one
 * datagram per VTEP, sent here one by one like any other; IGMP and MLD read
 * from the TAP go to the membership listener, and the agent's queries are
 * written into the TAP by injectFrame.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import type { EspCarrier, KeyringState } from '../crypto/index.js';
import { formatIp, ipFamily, parseIp } from '../wire/index.js';
import { loadAddon } from './addon.js';
import { CaptureFilter, type CaptureSpec } from './capture-spec.js';
import {
  countersFromSlots,
  type CapturedFrame,
  type Datapath,
  type DatapathCounters,
  type DatapathOptions,
  type DropReason,
  type DropSample,
  type EgressResult,
  type EncapOutput,
  type IngressResult,
  type NetworkAttachment,
  type OuterInfo,
  type PeerCounters,
  type ReceivedProbe,
  type SaInfo,
} from './datapath.js';
import { DropEvents } from './drop-sampler.js';
import { EspPlanner } from './esp-plan.js';
import { EspSaStore } from './esp-store.js';
import { ReferenceProcessor, type NetworkConfig } from './process.js';
import { RawSocket } from './raw-socket.js';
import { FdbTable, GroupTable, NeighbourTable } from './tables.js';

/** Largest frame a TAP read can return (TAP MTU is at most 65535). */
const TAP_READ_SIZE = 65536 + 14;
/** RFC 3948's port, the ESP-in-UDP port when none is given. */
const DEFAULT_ESP_PORT = 4500;
/** IP protocol number of ESP. */
const IPPROTO_ESP = 50;

/** A network's capture: where its packets go, and which it takes. */
interface CaptureSession {
  listener: (f: CapturedFrame) => void;
  filter: CaptureFilter;
}

interface OpenTap {
  vni: number;
  fd: number;
  open: boolean;
  buffer: Buffer;
}

export class JsDatapath implements Datapath {
  readonly kind = 'js' as const;
  readonly workers = 1;
  private readonly networks = new Map<number, NetworkConfig>();
  private readonly fdb = new FdbTable();
  private readonly neigh = new NeighbourTable();
  private readonly groupTable = new GroupTable();
  private readonly sas = new EspSaStore();
  private readonly planner: EspPlanner;
  private readonly processor: ReferenceProcessor;
  private readonly taps = new Map<number, OpenTap>();
  private readonly captures = new Map<number, CaptureSession>();
  private readonly drops = new DropEvents();
  /** Samples go straight to the listener here: none is ever lost. */
  readonly dropSamplesLost = 0;
  private probeListener: ((p: ReceivedProbe) => void) | null = null;
  private membershipListener: ((vni: number, frame: Buffer) => void) | null = null;
  private receiver?: dgram.Socket;
  private sources: dgram.Socket[] = [];
  /** The bound port of each source socket: the outer UDP source port of the flows it sends. */
  private sourcePorts: number[] = [];
  /** ESP-in-UDP: received on and sent from the ESP port. */
  private espSocket?: dgram.Socket;
  private boundEspPort = 0;
  /** IP protocol 50, opened when the first network with carrier `ip` is added. */
  private rawEsp?: RawSocket;
  private readonly dataPort: number;

  constructor(private readonly options: DatapathOptions) {
    this.dataPort = options.dataPort;
    this.planner = new EspPlanner(options.vtepAddress ?? options.bindAddress, this.sas, options.sequenceStart, options.windowStart);
    this.processor = new ReferenceProcessor(this.networks, this.fdb, this.neigh, { dataPort: this.dataPort, sas: this.sas, groups: this.groupTable });
  }

  /** The ESP-in-UDP port bound; 0 before start. */
  get espPort(): number {
    return this.boundEspPort;
  }

  async start(): Promise<void> {
    const family = ipFamily(this.options.bindAddress);
    if (family === 0) throw new Error(`bind address ${this.options.bindAddress} is not an IP address`);
    const type = family === 6 ? 'udp6' : 'udp4';
    this.receiver = await bindSocket(type, this.options.bindAddress, this.dataPort);
    this.receiver.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    // Option 0 (tests) binds any port: ESP carries and checks the one bound.
    this.processor.dataPort = this.receiver.address().port;
    const n = Math.max(1, this.options.sourcePorts ?? 8);
    for (let i = 0; i < n; i++) this.sources.push(await bindSocket(type, this.options.bindAddress, 0));
    this.sourcePorts = this.sources.map((s) => s.address().port);
    this.espSocket = await bindSocket(type, this.options.bindAddress, this.options.espPort ?? DEFAULT_ESP_PORT);
    this.boundEspPort = this.espSocket.address().port;
    this.espSocket.on('message', (msg, rinfo) => this.onEsp(msg, rinfo.address, { proto: 'udp', localPort: this.boundEspPort, remotePort: rinfo.port }));
    if ([...this.networks.values()].some((n) => n.encryption?.carrier === 'ip')) this.openRawEsp();
  }

  async stop(): Promise<void> {
    for (const vni of [...this.taps.keys()]) this.removeNetwork(vni);
    for (const s of [this.receiver, ...this.sources, this.espSocket]) s?.close();
    this.receiver = undefined;
    this.sources = [];
    this.sourcePorts = [];
    this.espSocket = undefined;
    this.boundEspPort = 0;
    const raw = this.rawEsp;
    this.rawEsp = undefined;
    await raw?.close();
  }

  addNetwork(net: NetworkAttachment): void {
    if (this.taps.has(net.vni)) this.removeNetwork(net.vni);
    // Registered first: refused without a VTEP address, before any TAP is opened.
    if (net.encryption !== undefined) this.planner.addNetwork(net.vni, net.encryption);
    let fd: number;
    try {
      fd = loadAddon().tapOpen(net.tapName, { persist: true, vnetHdr: false, nonBlocking: false });
    } catch (err) {
      this.planner.removeNetwork(net.vni);
      throw err;
    }
    this.networks.set(net.vni, { mtu: net.mtu, encryption: net.encryption && { ...net.encryption }, multicast: net.multicast && { ...net.multicast } });
    if (net.encryption?.carrier === 'ip' && this.receiver !== undefined) this.openRawEsp();
    const tap: OpenTap = { vni: net.vni, fd, open: true, buffer: Buffer.allocUnsafe(TAP_READ_SIZE) };
    this.taps.set(net.vni, tap);
    this.readLoop(tap);
  }

  removeNetwork(vni: number): void {
    const tap = this.taps.get(vni);
    this.planner.removeNetwork(vni);
    this.networks.delete(vni);
    this.fdb.deleteVni(vni);
    this.neigh.deleteVni(vni);
    this.groupTable.deleteVni(vni);
    this.processor.storm.delete(vni);
    this.captures.delete(vni);
    this.drops.removeNetwork(vni);
    if (tap === undefined) return;
    tap.open = false;
    this.taps.delete(vni);
    fs.close(tap.fd, () => undefined);
  }

  fdbSet(vni: number, mac: string, vtep: string): void {
    this.fdb.set(vni, mac, vtep);
    this.planner.fdbSet(vni, mac, vtep);
  }
  fdbDelete(vni: number, mac: string): void {
    this.fdb.delete(vni, mac);
    this.planner.fdbDelete(vni, mac);
  }

  setKeys(vni: number, ring: KeyringState): void {
    this.planner.setKeys(vni, ring);
  }

  securityAssociations(vni?: number): SaInfo[] {
    return this.sas.list(vni);
  }
  neighSet(vni: number, ip: string, mac: string): void {
    this.neigh.set(vni, ip, mac);
  }
  neighDelete(vni: number, ip: string): void {
    this.neigh.delete(vni, ip);
  }

  counters(): DatapathCounters {
    return countersFromSlots(this.processor.counters);
  }

  setDropListener(listener: ((d: DropSample) => void) | null): void {
    this.drops.setListener(listener);
  }

  networkDrops(vni: number): Record<DropReason, number> | undefined {
    return this.networks.has(vni) ? this.drops.networkDrops(vni) : undefined;
  }

  setCapture(vni: number, listener: ((f: CapturedFrame) => void) | null, spec: CaptureSpec = { inner: true, outer: false }): void {
    if (listener === null) this.captures.delete(vni);
    else this.captures.set(vni, { listener, filter: new CaptureFilter(spec) });
  }

  processEgress(vni: number, frame: Buffer, trace = false): EgressResult {
    return this.processor.processEgress(vni, frame, trace);
  }

  sendProbe(vni: number, vtep: string, frame: Buffer): DropReason | undefined {
    const result = this.processor.processProbe(vni, vtep, frame);
    if (result.out.length > 0 && this.receiver === undefined) {
      this.processor.countDrop('udp_send'); // stopped: checked and counted as the native path does, nothing to send from
      return 'udp_send';
    }
    for (const out of result.out) this.send(out);
    return result.drop;
  }

  setProbeListener(listener: ((p: ReceivedProbe) => void) | null): void {
    this.probeListener = listener;
  }

  groupSet(vni: number, mac: string, vteps: string[]): void {
    if (this.networks.has(vni)) this.groupTable.set(vni, mac, vteps);
  }

  groups(vni: number): Map<string, string[]> {
    return this.groupTable.entries(vni);
  }

  setMembershipListener(listener: ((vni: number, frame: Buffer) => void) | null): void {
    this.membershipListener = listener;
  }

  injectFrame(vni: number, frame: Buffer): boolean {
    const tap = this.taps.get(vni);
    return tap !== undefined && this.writeTap(tap, frame);
  }

  peerCounters(): PeerCounters[] {
    return this.processor.peerCounters();
  }

  processIngress(srcAddress: string, payload: Buffer, trace = false): IngressResult {
    return this.processor.processIngress(srcAddress, payload, trace);
  }

  processEsp(srcAddress: string, packet: Buffer): IngressResult {
    return this.processor.processEsp(srcAddress, packet);
  }

  sourcePort(flowHash: number): number | undefined {
    return this.sourcePorts[(flowHash >>> 0) % this.sourcePorts.length];
  }

  traceEsp(srcAddress: string, spi: number, payload: Buffer): IngressResult {
    return this.processor.traceEsp(srcAddress, spi, payload);
  }

  /** Opens the protocol 50 socket and its receive loop (once). */
  private openRawEsp(): void {
    if (this.rawEsp !== undefined) return;
    const family = ipFamily(this.options.bindAddress) === 6 ? 6 : 4;
    this.rawEsp = RawSocket.open(family, IPPROTO_ESP, this.options.bindAddress, (packet, from) => this.onEsp(packet, from, { proto: 'esp', localPort: 0, remotePort: 0 }));
  }

  private readLoop(tap: OpenTap): void {
    fs.read(tap.fd, tap.buffer, 0, tap.buffer.length, null, (err, n) => {
      if (!tap.open) return;
      if (err) {
        // EAGAIN cannot happen on a blocking descriptor; anything else means the device went away.
        if (err.code === 'EINTR') return this.readLoop(tap);
        tap.open = false;
        return;
      }
      // The read buffer is reused: onFrame finishes with it before the next read (its outputs are copies).
      if (n > 0) this.onFrame(tap, tap.buffer.subarray(0, n));
      this.readLoop(tap);
    });
  }

  private onFrame(tap: OpenTap, frame: Buffer): void {
    const cap = this.captures.get(tap.vni);
    const captured = cap !== undefined && cap.filter.hostMatches(frame) ? cap : undefined; // matched before sealing
    const result = this.processor.processEgress(tap.vni, frame);
    if (result.membership) this.membershipListener?.(tap.vni, Buffer.from(frame)); // a copy: the read buffer is reused
    if (result.drop !== undefined) this.dropped(result.drop, 'egress', 'frame', tap.vni, undefined, frame);
    for (const reply of result.reply) this.writeTap(tap, reply);
    for (const out of result.out) {
      // An outer capture takes the packet once the socket sent it.
      const sent = captured?.filter.spec.outer ? (wire: OuterInfo) => captureAs(captured, { vni: tap.vni, direction: 'egress', frame: out.payload, vtep: out.vtep, outer: wire }) : undefined;
      this.send(out, sent);
    }
    if (captured?.filter.spec.inner) captureAs(captured, { vni: tap.vni, direction: 'egress', frame, vtep: result.out[0]?.vtep });
  }

  /** Sends one datagram: VXLAN from the source socket of its flow hash, or ESP on its carrier; `sent` learns how it went on the wire, once it did. */
  private send(out: EncapOutput, sent?: (wire: OuterInfo) => void): void {
    if (out.carrier !== undefined) return this.sendEsp(out.carrier, out.payload, out.vtep, sent);
    this.sendVxlan(out.payload, out.vtep, out.flowHash, sent);
  }

  /** Sends a VXLAN payload from the source socket of its flow; `sent` learns how it went on the wire, once it did. */
  private sendVxlan(payload: Buffer, vtep: string, flowHash: number, sent?: (wire: OuterInfo) => void): void {
    const i = flowHash % this.sources.length;
    this.sendUdp(this.sources[i], payload, this.dataPort, vtep, sent && (() => sent({ proto: 'udp', localPort: this.sourcePorts[i], remotePort: this.dataPort })));
  }

  /** Sends an ESP packet to `vtep` on its carrier (a failure counts as `udp_send`); `sent` as for sendVxlan. */
  private sendEsp(carrier: EspCarrier, packet: Buffer, vtep: string, sent?: (wire: OuterInfo) => void): void {
    if (carrier === 'udp') {
      if (this.espSocket === undefined) return this.processor.countDrop('udp_send');
      const port = this.boundEspPort;
      return this.sendUdp(this.espSocket, packet, port, vtep, sent && (() => sent({ proto: 'udp', localPort: port, remotePort: port })));
    }
    if (this.rawEsp === undefined || !this.rawEsp.send(packet, vtep)) return this.processor.countDrop('udp_send');
    sent?.({ proto: 'esp', localPort: 0, remotePort: 0 });
  }

  private sendUdp(socket: dgram.Socket, data: Buffer, port: number, address: string, sent?: () => void): void {
    socket.send(data, port, address, (err) => {
      if (err) this.processor.countDrop('udp_send');
      else sent?.();
    });
  }

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const from = rinfo.address;
    this.captureReceived(msg, from, { proto: 'udp', localPort: this.processor.dataPort, remotePort: rinfo.port });
    const result = this.processor.processIngress(from, msg);
    if (result.drop === undefined) return this.deliver(result, from);
    // Counted for the network the VXLAN header names (as native/io/io_ingress.c does).
    const vni = msg.length >= 8 && (msg[0] & 0x08) !== 0 ? msg.readUIntBE(4, 3) : undefined;
    this.dropped(result.drop, 'ingress', 'vxlan', vni, canonical(from), msg);
  }

  private onEsp(packet: Buffer, from: string, wire: OuterInfo): void {
    const held = this.captureReceived(packet, from, wire, true);
    const result = this.processor.processEsp(from, packet);
    if (held !== undefined && result.frame !== undefined && held.session.filter.hostMatches(result.frame)) held.session.listener(held.frame);
    if (result.drop === undefined) return this.deliver(result, from);
    this.dropped(result.drop, 'ingress', 'esp', undefined, canonical(from), packet);
  }

  /**
   * Outer capture of a received packet, before it is opened or decapsulated:
   * its network by VNI (plain VXLAN) or inbound SA (ESP). Plain VXLAN is
   * matched on its inner frame at once; ESP under a host filter is returned
   * to be matched once opened, else captured at once.
   */
  private captureReceived(data: Buffer, from: string, wire: OuterInfo, esp = false): { session: CaptureSession; frame: CapturedFrame } | undefined {
    if (this.captures.size === 0) return undefined;
    const vtep = canonical(from);
    const vni = esp ? (data.length >= 4 ? this.sas.findInbound(vtep, data.readUInt32BE(0))?.planned.vni : undefined) : data.length >= 8 ? data.readUIntBE(4, 3) : undefined;
    const session = vni === undefined ? undefined : this.captures.get(vni);
    if (vni === undefined || !session?.filter.spec.outer || !session.filter.vtepMatches(vtep)) return undefined;
    const frame: CapturedFrame = { vni, direction: 'ingress', frame: Buffer.from(data), vtep, outer: wire };
    if (esp && session.filter.filtersHost) return { session, frame };
    if (esp || session.filter.hostMatches(data.subarray(8))) session.listener(frame);
    return undefined;
  }

  /** A drop of the loops: counted for network `vni` when this host has it, and offered as a drop event. */
  private dropped(reason: DropReason, direction: DropSample['direction'], kind: DropSample['kind'], vni: number | undefined, vtep: string | undefined, bytes: Buffer): void {
    const known = vni !== undefined && this.networks.has(vni) ? vni : undefined;
    this.drops.offer({ reason, direction, kind, vni: known, vtep, bytes });
  }

  /** Writes an accepted inner frame to its network's TAP; a VTEP probe goes to the agent instead. */
  private deliver(result: IngressResult, from: string): void {
    if (result.frame === undefined || result.vni === undefined) return;
    if (result.probe) {
      this.probeListener?.({ vni: result.vni, vtep: canonical(from), frame: Buffer.from(result.frame) });
      return;
    }
    const tap = this.taps.get(result.vni);
    if (tap === undefined) return;
    this.writeTap(tap, result.frame);
    const cap = this.captures.get(result.vni);
    if (cap?.filter.spec.inner && cap.filter.hostMatches(result.frame)) captureAs(cap, { vni: result.vni, direction: 'ingress', frame: result.frame, vtep: from });
  }

  /** Writes one frame into the TAP; false (counted: tap_write) when the kernel refused it. */
  private writeTap(tap: OpenTap, frame: Buffer): boolean {
    try {
      fs.writeSync(tap.fd, frame);
      return true;
    } catch {
      this.processor.countDrop('tap_write');
      return false;
    }
  }
}

function bindSocket(type: 'udp4' | 'udp6', address: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined); // per-send errors arrive in send callbacks
      resolve(socket);
    });
  });
}

const canonical = (addr: string): string => formatIp(parseIp(addr));

/** Hands a copy of `f` to the capture, its VTEP in canonical form, when the VTEP filter takes it. */
function captureAs(session: CaptureSession, f: CapturedFrame): void {
  const vtep = f.vtep === undefined ? undefined : canonical(f.vtep);
  if (!session.filter.vtepMatches(vtep)) return;
  session.listener({ ...f, frame: Buffer.from(f.frame), vtep });
}

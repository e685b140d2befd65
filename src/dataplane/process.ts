/**
 * The TypeScript reference path: every per-frame decision of
 * docs/datapath.md, without I/O, as one-direction stages (./pipeline/, a file
 * each). The native path runs the same stages by the same names in C
 * (native/pipeline/egress.c, ingress.c); the differential tests hold the two
 * to the same bytes, drop reasons and counters. Stages never call each other:
 * the stage lists below are ReferenceProcessor's methods, which call them in
 * order and do all the counting. A traced frame (`overlayctl trace`) runs the
 * same methods with a FrameTrace, recorded where a stage decides, counted in
 * a scratch block and never sealed (the SA is read, not used).
 *
 *   egress (a frame read from the TAP of network `vni`):
 *     parse        Ethernet, ≤ 2 VLAN tags                            pipeline/parse.ts
 *     proxy        ARP request | neighbour solicitation → reply       pipeline/proxy.ts
 *     lookup       FDB → VTEP (→ outbound SA); group frames dropped,  pipeline/lookup.ts
 *                  or on a multicast network: IGMP/MLD to the listener,
 *                  else the VTEPs to replicate to, storm control
 *     size         fits | ICMP too-big | IPv4 fragments               pipeline/size.ts
 *     encapsulate  VXLAN header, once per piece; tx counted per copy  pipeline/encapsulate.ts
 *     seal         encrypted network: inner UDP header + ESP, per VTEP  pipeline/seal.ts
 *     send         the I/O: js-datapath.ts
 *
 *   ingress (a datagram on the data port, or ESP on either carrier):
 *     open         ESP only: SA of (source, SPI), window, ICV, inner UDP  pipeline/open.ts
 *     decapsulate  VXLAN header → VNI                                     pipeline/decapsulate.ts
 *     admit        SA's network, joined, no plaintext on an encrypted
 *                  network, source a VTEP of it, inner source MAC its own
 *                  (not for a VTEP probe); rx counted, also per VTEP,
 *                  group frames of a multicast network as mcast_rx too    pipeline/admit.ts
 *     deliver      the I/O: js-datapath.ts; a probe goes to the agent
 *
 *   a VTEP probe from the agent (processProbe) joins the egress list at
 *   encapsulate, after the checks lookup and size make for its VTEP.
 */
import { ETHERTYPE, UDP_HEADER_LENGTH, VXLAN_DEFAULT_PORT, isProbeFrame } from '../wire/index.js';
import {
  COUNTER_SLOTS,
  dropSlot,
  type DropReason,
  type EgressResult,
  type FrameProcessor,
  type FrameTrace,
  type IngressResult,
  type PeerCounters,
  type TraceStage,
} from './datapath.js';
import { PeerCounterTable } from './peer-counters.js';
import { EspSaStore } from './esp-store.js';
import { flowHash } from './flow-hash.js';
import { admit } from './pipeline/admit.js';
import { decapsulate } from './pipeline/decapsulate.js';
import { encapsulate } from './pipeline/encapsulate.js';
import { canonicalAddress, isGroupFrame, type L2, type NetworkConfig } from './pipeline/frame.js';
import { lookup, lookupGroup } from './pipeline/lookup.js';
import { open } from './pipeline/open.js';
import { isNeighbourDiscovery, parse } from './pipeline/parse.js';
import { proxyArp, proxyNd } from './pipeline/proxy.js';
import { seal } from './pipeline/seal.js';
import { size, type SizeEnd } from './pipeline/size.js';
import { StormControl } from './storm-control.js';
import { GroupTable, type FdbTable, type NeighbourTable } from './tables.js';

export type { NetworkConfig } from './pipeline/frame.js';

const enum Slot {
  TxPackets = 0,
  TxBytes = 1,
  RxPackets = 2,
  RxBytes = 3,
  ArpReplies = 4,
  NdReplies = 5,
  IcmpErrors = 6,
  Fragments = 7,
  McastFrames = 8,
  McastCopies = 9,
  McastRx = 10,
}

/** Options of a {@link ReferenceProcessor}. */
export interface ReferenceOptions {
  /** The data port: inner UDP destination of encrypted traffic (default 4789). */
  dataPort?: number;
  /** SAs of the encrypted networks (default: an empty store of its own). */
  sas?: EspSaStore;
  /** Group tables of the multicast networks (default: an empty table of its own). */
  groups?: GroupTable;
  /** Storm control of the multicast networks (default: one on the monotonic clock; tests give one on a clock they step). */
  storm?: StormControl;
}

/** The reference FrameProcessor: the stage lists above, over the networks, tables and SAs it is given. */
export class ReferenceProcessor implements FrameProcessor {
  /** Flat counters in the layout of datapath.ts (events, then drops). */
  readonly counters = new Float64Array(COUNTER_SLOTS);
  /** The data port (inner UDP destination of ESP traffic, checked on receipt); the I/O layer sets the bound one. */
  dataPort: number;
  /** SAs of the encrypted networks, filled by an EspPlanner. */
  readonly sas: EspSaStore;
  /** Multicast networks: group MAC → VTEPs (Datapath.groupSet). */
  readonly groups: GroupTable;
  /** Multicast networks: the per-network token buckets. */
  readonly storm: StormControl;
  /** Where the stage lists count: `counters`, or a scratch block while a traced frame runs. */
  private count: Float64Array = this.counters;
  private readonly peers = new PeerCounterTable();

  constructor(
    readonly networks: Map<number, NetworkConfig>,
    readonly fdb: FdbTable,
    readonly neigh: NeighbourTable,
    options: ReferenceOptions = {},
  ) {
    this.dataPort = options.dataPort ?? VXLAN_DEFAULT_PORT;
    this.sas = options.sas ?? new EspSaStore();
    this.groups = options.groups ?? new GroupTable();
    this.storm = options.storm ?? new StormControl();
  }

  processEgress(vni: number, frame: Buffer, trace = false): EgressResult {
    if (!trace) return this.egress(vni, frame, undefined);
    const t = newTrace('encapsulate');
    const result = this.scratch(() => this.egress(vni, frame, t));
    if (result.out.length > 0) {
      // A plain frame's payloads are collected, as the native sink collects them.
      Object.assign(t, { vtep: result.out[0].vtep, flowHash: result.out[0].flowHash >>> 0, pieces: result.out.length, payloadLen: result.out[0].payload.length });
    }
    return { ...result, trace: t };
  }

  processIngress(srcAddress: string, payload: Buffer, trace = false): IngressResult {
    if (!trace) return this.receive(srcAddress, payload, undefined, undefined);
    const t = newTrace('admit');
    return { ...this.scratch(() => this.receive(srcAddress, payload, undefined, t)), trace: t };
  }

  processEsp(srcAddress: string, packet: Buffer): IngressResult {
    const opened = open(this.sas, srcAddress, packet, this.dataPort);
    if (typeof opened === 'string') return this.dropIn(opened);
    return this.receive(opened.src, opened.payload, opened.vni, undefined);
  }

  traceEsp(srcAddress: string, spi: number, payload: Buffer): IngressResult {
    const t = newTrace('admit');
    const result = this.scratch(() => {
      const src = canonicalAddress(srcAddress);
      const inbound = src === undefined ? undefined : this.sas.findInbound(src, spi);
      if (inbound === undefined) return this.dropIn('esp_bad_spi', t, 'open');
      t.sa = { spi, seq: inbound.window.top }; // looked at, not opened: the window stays where it is
      return this.receive(src!, payload, inbound.planned.vni, t);
    });
    return { ...result, trace: t };
  }

  /**
   * A VTEP probe frame from the agent to `vtep` (Datapath.sendProbe): the
   * checks lookup and size make for a frame (unknown_vtep, no_sa, too_big),
   * then the egress list from encapsulate on.
   */
  processProbe(vni: number, vtep: string, frame: Buffer): EgressResult {
    const result: EgressResult = { out: [], reply: [] };
    const net = this.networks.get(vni);
    if (net === undefined) return this.drop(result, 'no_network');
    const to = canonicalAddress(vtep);
    if (to === undefined || !this.fdb.isVtep(vni, to)) return this.drop(result, 'unknown_vtep');
    if (net.encryption !== undefined && this.sas.findOutbound(vni, to) === undefined) return this.drop(result, 'no_sa');
    if (frame.length > net.mtu + 14) return this.drop(result, 'too_big');
    const l2 = parse(frame);
    if (typeof l2 === 'string') return this.drop(result, l2);
    this.emit(result, vni, net, [to], flowHash(frame, l2.l3off, l2.etherType), frame, undefined);
    return result;
  }

  /** What was sent to and admitted from each remote VTEP of any network. */
  peerCounters(): PeerCounters[] {
    return this.peers.list(this.fdb.allVteps());
  }

  /** The egress stage list; `t` is set for a traced frame. */
  private egress(vni: number, frame: Buffer, t: FrameTrace | undefined): EgressResult {
    const result: EgressResult = { out: [], reply: [] };
    const net = this.networks.get(vni);
    if (net === undefined) return this.drop(result, 'no_network', t, 'parse');
    const l2 = parse(frame);
    if (typeof l2 === 'string') return this.drop(result, l2, t, 'parse');

    if (l2.etherType === ETHERTYPE.ARP) return this.answer(result, proxyArp(this.neigh, vni, frame, l2), Slot.ArpReplies, t);
    if (isNeighbourDiscovery(frame, l2)) return this.answer(result, proxyNd(this.neigh, vni, frame, l2), Slot.NdReplies, t);

    if (net.multicast !== undefined && isGroupFrame(frame)) return this.replicate(result, vni, net, net.multicast.rate, frame, l2, t);
    const route = lookup(this.fdb, this.sas, vni, net.encryption !== undefined, frame);
    if (typeof route === 'string') {
      if (t !== undefined && route === 'no_sa') t.vtep = this.fdb.lookup(vni, frame, 0);
      return this.drop(result, route, t, 'lookup');
    }
    return this.sizeAndEmit(result, vni, net, [route.vtep], frame, l2, t);
  }

  /**
   * The egress list from lookup on, for a group frame of a multicast network
   * (MulticastSettings rules): IGMP/MLD marked for the membership listener;
   * else the VTEPs it goes to (none: `multicast`), a token of the network's
   * storm control (none: `multicast_rate`), then one copy of each piece per
   * VTEP. A traced frame takes no token, records the list and is followed to
   * its first VTEP only.
   */
  private replicate(result: EgressResult, vni: number, net: NetworkConfig, rate: number, frame: Buffer, l2: L2, t: FrameTrace | undefined): EgressResult {
    const vteps = lookupGroup(this.fdb, this.groups, vni, frame, l2);
    if (vteps === 'membership') {
      if (t !== undefined) t.stage = 'lookup';
      result.membership = true;
      return result;
    }
    if (t !== undefined) Object.assign(t, { vteps: [...vteps] }, vteps.length > 0 && { vtep: vteps[0] });
    if (vteps.length === 0) return this.drop(result, 'multicast', t, 'lookup');
    if (!this.storm.take(vni, rate, t !== undefined)) return this.drop(result, 'multicast_rate', t, 'lookup');
    return this.sizeAndEmit(result, vni, net, t === undefined ? vteps : vteps.slice(0, 1), frame, l2, t, true);
  }

  /**
   * Egress stages size to seal: each piece of the frame encapsulated once,
   * then a copy to every VTEP of `vteps`. `replicated`: a group frame of a
   * multicast network, counted in mcast_frames once it passed the size stage.
   */
  private sizeAndEmit(
    result: EgressResult,
    vni: number,
    net: NetworkConfig,
    vteps: readonly string[],
    frame: Buffer,
    l2: L2,
    t: FrameTrace | undefined,
    replicated = false,
  ): EgressResult {
    const hash = flowHash(frame, l2.l3off, l2.etherType);
    const pieces = size(frame, l2, net.mtu);
    let step = pieces.next();
    for (; !step.done; step = pieces.next()) {
      if (step.value !== frame) this.count[Slot.Fragments]++; // any other piece is a fragment of it
      this.emit(result, vni, net, vteps, hash, step.value, t, replicated);
    }
    if (replicated && step.value === undefined) this.count[Slot.McastFrames]++;
    return this.oversize(result, step.value, t, vteps[0]);
  }

  /** Counts a drop on the I/O side (TAP write or socket send refused, punt queue full). */
  countDrop(reason: DropReason): void {
    this.count[dropSlot(reason)]++;
  }

  /**
   * Egress after size, for one piece: encapsulated once, then per VTEP a
   * copy counted as sent, sealed on an encrypted network (the plaintext
   * stays shared: seal writes the same inner UDP header each time and makes
   * a new packet), added to `result.out` for send. A replicated frame's
   * copy to a VTEP without an outbound SA is skipped (`no_sa`: the frame's
   * verdict, the other copies still go); the others count as mcast_copies.
   */
  private emit(result: EgressResult, vni: number, net: NetworkConfig, vteps: readonly string[], hash: number, piece: Buffer, t: FrameTrace | undefined, replicated = false): void {
    const headroom = net.encryption === undefined ? 0 : UDP_HEADER_LENGTH;
    const datagram = encapsulate(vni, piece, headroom);
    for (const vtep of vteps) {
      if (replicated && net.encryption !== undefined && this.sas.findOutbound(vni, vtep) === undefined) {
        this.drop(result, 'no_sa', t, 'seal');
        continue;
      }
      if (replicated) this.count[Slot.McastCopies]++;
      this.copy(result, vni, net, vtep, hash, datagram, headroom, t);
    }
  }

  /** One copy of an encapsulated piece to `vtep`: counted as sent, sealed on an encrypted network. */
  private copy(result: EgressResult, vni: number, net: NetworkConfig, vtep: string, hash: number, datagram: Buffer, headroom: number, t: FrameTrace | undefined): void {
    const encryption = net.encryption;
    this.count[Slot.TxPackets]++;
    this.count[Slot.TxBytes] += datagram.length - headroom;
    if (t === undefined) this.peers.tx(vtep, datagram.length - headroom);
    if (encryption === undefined) {
      result.out.push({ vtep, flowHash: hash, payload: datagram });
      return;
    }
    if (t !== undefined) {
      // Traced: the SA it would be sealed with, read, not used (a sequence number taken here is one the peer never sees).
      const out = this.sas.findOutbound(vni, vtep);
      if (t.pieces++ === 0) t.payloadLen = datagram.length - headroom;
      Object.assign(t, { stage: 'seal', vtep, flowHash: hash >>> 0 }, out && { sa: { spi: out.planned.spi, seq: out.lastSeq + 1 } });
      return;
    }
    const sealed = seal(this.sas, vni, vtep, hash, datagram, this.dataPort);
    if (typeof sealed === 'string') this.drop(result, sealed);
    else result.out.push({ vtep, flowHash: hash, payload: sealed, carrier: encryption.carrier });
  }

  /** Ingress after open: decapsulate, admit, count as received. `saVni` is the network of the SA (ESP), undefined for plaintext. */
  private receive(srcAddress: string, payload: Buffer, saVni: number | undefined, t: FrameTrace | undefined): IngressResult {
    const vxlan = decapsulate(payload);
    if (typeof vxlan === 'string') return this.dropIn(vxlan, t, 'decapsulate');
    const probe = isProbeFrame(vxlan.frame);
    const refused = admit(this.networks, this.fdb, srcAddress, vxlan.vni, vxlan.frame, saVni, probe);
    if (refused !== undefined) return this.dropIn(refused, t, 'admit');
    this.count[Slot.RxPackets]++;
    this.count[Slot.RxBytes] += vxlan.frame.length;
    if (!probe && isGroupFrame(vxlan.frame) && this.networks.get(vxlan.vni)?.multicast !== undefined) this.count[Slot.McastRx]++;
    if (t === undefined) this.peers.rx(canonicalAddress(srcAddress)!, vxlan.frame.length);
    return probe ? { vni: vxlan.vni, frame: vxlan.frame, probe } : { vni: vxlan.vni, frame: vxlan.frame };
  }

  /** The proxy's reply to the TAP, counted in `slot`, or its drop. */
  private answer(result: EgressResult, reply: Buffer | DropReason, slot: Slot, t: FrameTrace | undefined): EgressResult {
    if (typeof reply === 'string') return this.drop(result, reply, t, 'proxy');
    if (t !== undefined) Object.assign(t, { stage: 'proxy', replyLen: reply.length });
    result.reply.push(reply);
    this.count[slot]++;
    return result;
  }

  /** How the size stage ended: the ICMP reply (counted) and the drop, if any. */
  private oversize(result: EgressResult, end: SizeEnd, t: FrameTrace | undefined, vtep: string): EgressResult {
    if (end === undefined) return result;
    if (end.reply !== undefined) {
      result.reply.push(end.reply);
      this.count[Slot.IcmpErrors]++;
    }
    if (t !== undefined) Object.assign(t, { vtep, replyLen: end.reply?.length ?? 0 });
    return this.drop(result, end.drop, t, 'size');
  }

  /** Counts a drop by `stage`, and records it in the trace of a traced frame. */
  private drop(result: EgressResult, reason: DropReason, t?: FrameTrace, stage?: TraceStage): EgressResult {
    this.count[dropSlot(reason)]++;
    if (t !== undefined) Object.assign(t, { stage, drop: reason });
    result.drop = reason;
    return result;
  }

  private dropIn(reason: DropReason, t?: FrameTrace, stage?: TraceStage): IngressResult {
    this.count[dropSlot(reason)]++;
    if (t !== undefined) Object.assign(t, { stage, drop: reason });
    return { drop: reason };
  }

  /** Runs a traced frame with a scratch counter block: its counts go nowhere. */
  private scratch<T>(run: () => T): T {
    const live = this.count;
    this.count = new Float64Array(COUNTER_SLOTS);
    try {
      return run();
    } finally {
      this.count = live;
    }
  }
}

/** A trace that ends at `stage`, passed, unless a stage decides otherwise. */
const newTrace = (stage: TraceStage): FrameTrace => ({ stage, pieces: 0, payloadLen: 0, replyLen: 0 });

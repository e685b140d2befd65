/**
 * The TypeScript reference path: every per-frame decision of
 * docs/datapath.md, without I/O, as one-direction stages (./pipeline/, a file
 * each). The native path runs the same stages by the same names in C
 * (native/pipeline/egress.c, ingress.c); the differential tests hold the two
 * to the same bytes, drop reasons and counters. Stages never call each other:
 * the stage lists below are ReferenceProcessor's methods, which call them in
 * order and do all the counting.
 *
 *   egress (a frame read from the TAP of network `vni`):
 *     parse        Ethernet, ≤ 2 VLAN tags                            pipeline/parse.ts
 *     proxy        ARP request | neighbour solicitation → reply       pipeline/proxy.ts
 *     lookup       group frames dropped → FDB → VTEP (→ outbound SA)  pipeline/lookup.ts
 *     size         fits | ICMP too-big | IPv4 fragments               pipeline/size.ts
 *     encapsulate  VXLAN header; tx counted                           pipeline/encapsulate.ts
 *     seal         encrypted network: inner UDP header + ESP          pipeline/seal.ts
 *     send         the I/O: js-datapath.ts
 *
 *   ingress (a datagram on the data port, or ESP on either carrier):
 *     open         ESP only: SA of (source, SPI), window, ICV, inner UDP  pipeline/open.ts
 *     decapsulate  VXLAN header → VNI                                     pipeline/decapsulate.ts
 *     admit        SA's network, joined, no plaintext on an encrypted
 *                  network, source a VTEP of it, inner source MAC its own;
 *                  rx counted                                             pipeline/admit.ts
 *     deliver      the I/O: js-datapath.ts
 */
import { ETHERTYPE, UDP_HEADER_LENGTH, VXLAN_DEFAULT_PORT } from '../wire/index.js';
import {
  COUNTER_SLOTS,
  dropSlot,
  type DropReason,
  type EgressResult,
  type FrameProcessor,
  type IngressResult,
} from './datapath.js';
import { EspSaStore } from './esp-store.js';
import { flowHash } from './flow-hash.js';
import { admit } from './pipeline/admit.js';
import { decapsulate } from './pipeline/decapsulate.js';
import { encapsulate } from './pipeline/encapsulate.js';
import type { NetworkConfig } from './pipeline/frame.js';
import { lookup } from './pipeline/lookup.js';
import { open } from './pipeline/open.js';
import { isNeighbourDiscovery, parse } from './pipeline/parse.js';
import { proxyArp, proxyNd } from './pipeline/proxy.js';
import { seal } from './pipeline/seal.js';
import { size, type SizeEnd } from './pipeline/size.js';
import type { FdbTable, NeighbourTable } from './tables.js';

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
}

/** Options of a {@link ReferenceProcessor}. */
export interface ReferenceOptions {
  /** The data port: inner UDP destination of encrypted traffic (default 4789). */
  dataPort?: number;
  /** SAs of the encrypted networks (default: an empty store of its own). */
  sas?: EspSaStore;
}

/** The reference FrameProcessor: the stage lists above, over the networks, tables and SAs it is given. */
export class ReferenceProcessor implements FrameProcessor {
  /** Flat counters in the layout of datapath.ts (events, then drops). */
  readonly counters = new Float64Array(COUNTER_SLOTS);
  /** The data port (inner UDP destination of ESP traffic, checked on receipt); the I/O layer sets the bound one. */
  dataPort: number;
  /** SAs of the encrypted networks, filled by an EspPlanner. */
  readonly sas: EspSaStore;

  constructor(
    readonly networks: Map<number, NetworkConfig>,
    readonly fdb: FdbTable,
    readonly neigh: NeighbourTable,
    options: ReferenceOptions = {},
  ) {
    this.dataPort = options.dataPort ?? VXLAN_DEFAULT_PORT;
    this.sas = options.sas ?? new EspSaStore();
  }

  processEgress(vni: number, frame: Buffer): EgressResult {
    const result: EgressResult = { out: [], reply: [] };
    const net = this.networks.get(vni);
    if (net === undefined) return this.drop(result, 'no_network');
    const l2 = parse(frame);
    if (typeof l2 === 'string') return this.drop(result, l2);

    if (l2.etherType === ETHERTYPE.ARP) return this.answer(result, proxyArp(this.neigh, vni, frame, l2), Slot.ArpReplies);
    if (isNeighbourDiscovery(frame, l2)) return this.answer(result, proxyNd(this.neigh, vni, frame, l2), Slot.NdReplies);

    const route = lookup(this.fdb, this.sas, vni, net.encryption !== undefined, frame);
    if (typeof route === 'string') return this.drop(result, route);

    const hash = flowHash(frame, l2.l3off, l2.etherType);
    const pieces = size(frame, l2, net.mtu);
    let step = pieces.next();
    for (; !step.done; step = pieces.next()) {
      if (step.value !== frame) this.counters[Slot.Fragments]++; // any other piece is a fragment of it
      this.emit(result, vni, net, route.vtep, hash, step.value);
    }
    return this.oversize(result, step.value);
  }

  processIngress(srcAddress: string, payload: Buffer): IngressResult {
    return this.receive(srcAddress, payload, undefined);
  }

  processEsp(srcAddress: string, packet: Buffer): IngressResult {
    const opened = open(this.sas, srcAddress, packet, this.dataPort);
    if (typeof opened === 'string') return this.dropIn(opened);
    return this.receive(opened.src, opened.payload, opened.vni);
  }

  /** Counts a drop on the I/O side (TAP write or socket send refused, punt queue full). */
  countDrop(reason: DropReason): void {
    this.counters[dropSlot(reason)]++;
  }

  /** Egress after size, for one piece: encapsulate, count as sent, seal on an encrypted network, add to `result.out` for send. */
  private emit(result: EgressResult, vni: number, net: NetworkConfig, vtep: string, hash: number, piece: Buffer): void {
    const encryption = net.encryption;
    const headroom = encryption === undefined ? 0 : UDP_HEADER_LENGTH;
    const datagram = encapsulate(vni, piece, headroom);
    this.counters[Slot.TxPackets]++;
    this.counters[Slot.TxBytes] += datagram.length - headroom;
    if (encryption === undefined) {
      result.out.push({ vtep, flowHash: hash, payload: datagram });
      return;
    }
    const sealed = seal(this.sas, vni, vtep, hash, datagram, this.dataPort);
    if (typeof sealed === 'string') this.drop(result, sealed);
    else result.out.push({ vtep, flowHash: hash, payload: sealed, carrier: encryption.carrier });
  }

  /** Ingress after open: decapsulate, admit, count as received. `saVni` is the network of the SA (ESP), undefined for plaintext. */
  private receive(srcAddress: string, payload: Buffer, saVni: number | undefined): IngressResult {
    const vxlan = decapsulate(payload);
    if (typeof vxlan === 'string') return this.dropIn(vxlan);
    const refused = admit(this.networks, this.fdb, srcAddress, vxlan.vni, vxlan.frame, saVni);
    if (refused !== undefined) return this.dropIn(refused);
    this.counters[Slot.RxPackets]++;
    this.counters[Slot.RxBytes] += vxlan.frame.length;
    return { vni: vxlan.vni, frame: vxlan.frame };
  }

  /** The proxy's reply to the TAP, counted in `slot`, or its drop. */
  private answer(result: EgressResult, reply: Buffer | DropReason, slot: Slot): EgressResult {
    if (typeof reply === 'string') return this.drop(result, reply);
    result.reply.push(reply);
    this.counters[slot]++;
    return result;
  }

  /** How the size stage ended: the ICMP reply (counted) and the drop, if any. */
  private oversize(result: EgressResult, end: SizeEnd): EgressResult {
    if (end === undefined) return result;
    if (end.reply !== undefined) {
      result.reply.push(end.reply);
      this.counters[Slot.IcmpErrors]++;
    }
    return this.drop(result, end.drop);
  }

  private drop(result: EgressResult, reason: DropReason): EgressResult {
    this.counters[dropSlot(reason)]++;
    result.drop = reason;
    return result;
  }

  private dropIn(reason: DropReason): IngressResult {
    this.counters[dropSlot(reason)]++;
    return { drop: reason };
  }
}

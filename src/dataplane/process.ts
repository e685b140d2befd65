/**
 * The TypeScript reference path: every per-frame decision of
 * docs/datapath.md, without I/O. The native path (native/pipeline/dp_process.c)
 * makes the same decisions in C; the differential tests hold the two to the
 * same bytes and the same drop reasons.
 *
 *   egress  (frame from the TAP of a network):
 *     parse Ethernet (≤ 2 VLAN tags) → ARP proxy → ND proxy → broadcast /
 *     multicast drop → FDB lookup → size (ICMP too-big | fragment) → VXLAN
 *     (encrypted network: outbound SA → UDP header + VXLAN sealed as ESP)
 *   ingress (datagram on the data port):
 *     VXLAN header → VNI joined (and not encrypted) → source is a VTEP of the
 *     VNI → inner source MAC belongs to that VTEP → frame to the TAP
 *   ESP (either carrier):
 *     (source, SPI) → openEsp → inner UDP header → VXLAN steps, the VNI being
 *     the SA's network
 */
import {
  encodeArp,
  encodeEthernet,
  encodeIcmp,
  encodeIcmpv6,
  encodeIPv4,
  encodeIPv6,
  encodeNeighborAdvertisement,
  formatIp,
  parseIp,
  internetChecksum,
  writeVxlanHeader,
  type VlanTag,
} from '../wire/index.js';
import { ESP_NEXT_HEADER_UDP, openEsp, sealEsp } from '../crypto/index.js';
import {
  COUNTER_SLOTS,
  dropSlot,
  type DropReason,
  type EgressResult,
  type FrameProcessor,
  type IngressResult,
  type NetworkEncryption,
} from './datapath.js';
import { EspSaStore } from './esp-store.js';
import { flowHash } from './flow-hash.js';
import type { FdbTable, NeighbourTable } from './tables.js';

const ETH_IPV4 = 0x0800;
const ETH_ARP = 0x0806;
const ETH_IPV6 = 0x86dd;
const VXLAN_HLEN = 8;
const UDP_HLEN = 8;
/** Inner UDP source ports of encrypted traffic: 49152 + flowHash mod 16384. */
const ESP_SPORT_BASE = 49152;
const ESP_SPORT_RANGE = 16384;
/** IANA VXLAN port, the data port when none is given. */
const DEFAULT_DATA_PORT = 4789;
/** Largest share of the original packet quoted in an ICMPv4 error (576 − 28). */
const ICMP4_QUOTE = 548;
/** Largest share quoted in an ICMPv6 error (1280 − 48). */
const ICMP6_QUOTE = 1232;
const NA_FLAGS = 0x60000000; // solicited | override

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

export interface NetworkConfig {
  /** Overlay IP MTU. */
  mtu: number;
  /** Set for an encrypted network (docs/datapath.md "Encrypted networks"). */
  encryption?: NetworkEncryption;
}

/** Options of a {@link ReferenceProcessor}. */
export interface ReferenceOptions {
  /** The data port: inner UDP destination of encrypted traffic (default 4789). */
  dataPort?: number;
  /** SAs of the encrypted networks (default: an empty store of its own). */
  sas?: EspSaStore;
}

/** The parsed Ethernet layer of an egress frame. */
interface L2 {
  tags: number;
  l3off: number;
  etherType: number;
}

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
    this.dataPort = options.dataPort ?? DEFAULT_DATA_PORT;
    this.sas = options.sas ?? new EspSaStore();
  }

  processEgress(vni: number, frame: Buffer): EgressResult {
    const result: EgressResult = { out: [], reply: [] };
    const net = this.networks.get(vni);
    if (net === undefined) return this.drop(result, 'no_network');
    const l2 = parseL2(frame);
    if (l2 === undefined) return this.drop(result, 'malformed');

    if (l2.etherType === ETH_ARP) return this.arpProxy(vni, frame, l2, result);
    if (isNeighbourDiscovery(frame, l2)) return this.ndProxy(vni, frame, l2, result);
    if (frame[0] & 1) return this.drop(result, isBroadcast(frame) ? 'broadcast' : 'multicast');

    const vtep = this.fdb.lookup(vni, frame, 0);
    if (vtep === undefined) return this.drop(result, 'no_fdb');
    if (net.encryption !== undefined && this.sas.findOutbound(vni, vtep) === undefined) return this.drop(result, 'no_sa');

    const hash = flowHash(frame, l2.l3off, l2.etherType);
    const maxFrame = net.mtu + 14;
    if (frame.length <= maxFrame) {
      this.encapsulate(result, vni, vtep, hash, frame);
      return result;
    }
    const l3max = maxFrame - l2.l3off;
    if (l2.etherType === ETH_IPV4) return this.oversizeIPv4(vni, vtep, hash, frame, l2, l3max, result);
    if (l2.etherType === ETH_IPV6) return this.oversizeIPv6(frame, l2, l3max, result);
    return this.drop(result, 'too_big');
  }

  processIngress(srcAddress: string, payload: Buffer): IngressResult {
    return this.vxlanIn(srcAddress, payload, -1);
  }

  processEsp(srcAddress: string, packet: Buffer): IngressResult {
    if (packet.length < 4) return this.dropIn('esp_truncated');
    const src = canonicalAddress(srcAddress);
    const inbound = src === undefined ? undefined : this.sas.findInbound(src, packet.readUInt32BE(0));
    if (inbound === undefined) return this.dropIn('esp_bad_spi');
    const opened = openEsp(inbound.planned.sa, inbound.window, packet);
    if (typeof opened === 'string') return this.dropIn(opened);
    const udp = opened.payload;
    if (
      opened.nextHeader !== ESP_NEXT_HEADER_UDP ||
      udp.length < UDP_HLEN ||
      udp.readUInt16BE(4) !== udp.length ||
      udp.readUInt16BE(2) !== this.dataPort
    ) {
      return this.dropIn('malformed');
    }
    return this.vxlanIn(src!, udp.subarray(UDP_HLEN), inbound.planned.vni);
  }

  /**
   * The VXLAN steps of ingress. `saVni` is the network of the SA the payload
   * came through (ESP), or −1 for the plain data port.
   */
  private vxlanIn(srcAddress: string, payload: Buffer, saVni: number): IngressResult {
    if (payload.length < VXLAN_HLEN + 14) return this.dropIn('malformed');
    if ((payload[0] & 0x08) === 0) return this.dropIn('bad_vxlan');
    const vni = (payload[4] << 16) | (payload[5] << 8) | payload[6];
    if (saVni >= 0 && vni !== saVni) return this.dropIn('esp_wrong_vni');
    const net = this.networks.get(vni);
    if (net === undefined) return this.dropIn('unknown_vni');
    if (saVni < 0 && net.encryption !== undefined) return this.dropIn('plaintext_on_encrypted');
    const src = canonicalAddress(srcAddress);
    if (src === undefined || !this.fdb.isVtep(vni, src)) return this.dropIn('unknown_vtep');
    if (this.fdb.lookup(vni, payload, VXLAN_HLEN + 6) !== src) return this.dropIn('spoofed_src');
    const frame = payload.subarray(VXLAN_HLEN);
    this.counters[Slot.RxPackets]++;
    this.counters[Slot.RxBytes] += frame.length;
    return { vni, frame };
  }

  private arpProxy(vni: number, frame: Buffer, l2: L2, result: EgressResult): EgressResult {
    if (l2.tags > 0) return this.drop(result, 'arp_other');
    const a = l2.l3off;
    if (frame.length < a + 28) return this.drop(result, 'malformed');
    if (frame.readUInt16BE(a) !== 1 || frame.readUInt16BE(a + 2) !== ETH_IPV4 || frame[a + 4] !== 6 || frame[a + 5] !== 4) {
      return this.drop(result, 'malformed');
    }
    if (frame.readUInt16BE(a + 6) !== 1) return this.drop(result, 'arp_other');
    const sha = frame.subarray(a + 8, a + 14);
    const spa = frame.subarray(a + 14, a + 18);
    const tpa = frame.subarray(a + 24, a + 28);
    if (spa.equals(tpa)) return this.drop(result, 'arp_other');
    const mac = this.neigh.lookup(vni, frame, a + 24, 4);
    if (mac === undefined || mac.equals(frame.subarray(6, 12))) return this.drop(result, 'arp_unknown');
    const arp = encodeArp({ op: 2, sha: mac, spa: tpa, tha: sha, tpa: spa });
    result.reply.push(encodeEthernet({ dst: frame.subarray(6, 12), src: mac, etherType: ETH_ARP }, arp));
    this.counters[Slot.ArpReplies]++;
    return result;
  }

  private ndProxy(vni: number, frame: Buffer, l2: L2, result: EgressResult): EgressResult {
    const ip = l2.l3off;
    const icmp = ip + 40;
    if (frame[icmp] !== 135 || frame[icmp + 1] !== 0 || frame[ip + 7] !== 255) return this.drop(result, 'nd_other');
    if (frame.length < icmp + 24) return this.drop(result, 'malformed');
    const src = frame.subarray(ip + 8, ip + 24);
    if (isZero(src)) return this.drop(result, 'nd_dad');
    const target = frame.subarray(icmp + 8, icmp + 24);
    const mac = this.neigh.lookup(vni, frame, icmp + 8, 16);
    if (mac === undefined || mac.equals(frame.subarray(6, 12))) return this.drop(result, 'nd_unknown');
    const na = encodeNeighborAdvertisement(target, src, target, mac, NA_FLAGS);
    const ipv6 = encodeIPv6({ nextHeader: 58, hopLimit: 255, src: target, dst: src }, na);
    result.reply.push(encodeEthernet({ dst: frame.subarray(6, 12), src: mac, etherType: ETH_IPV6 }, ipv6));
    this.counters[Slot.NdReplies]++;
    return result;
  }

  private oversizeIPv4(
    vni: number,
    vtep: string,
    hash: number,
    frame: Buffer,
    l2: L2,
    l3max: number,
    result: EgressResult,
  ): EgressResult {
    const ip = l2.l3off;
    if (frame.length < ip + 20) return this.drop(result, 'malformed');
    const ihl = frame[ip] & 0x0f;
    const hlen = ihl * 4;
    const total = frame.readUInt16BE(ip + 2);
    if (frame[ip] >> 4 !== 4 || ihl < 5 || total < hlen || ip + total > frame.length) return this.drop(result, 'malformed');
    const flagsOffset = frame.readUInt16BE(ip + 6);
    const dontFragment = (flagsOffset & 0x4000) !== 0;
    const fragOffset = flagsOffset & 0x1fff;

    if (dontFragment) {
      const protocol = frame[ip + 9];
      const icmpType = total > hlen ? frame[ip + hlen] : -1;
      const quiet = fragOffset !== 0 || (protocol === 1 && icmpType !== 0 && icmpType !== 8);
      if (!quiet) {
        const quote = frame.subarray(ip, ip + Math.min(total, ICMP4_QUOTE));
        const icmp = encodeIcmp({ type: 3, code: 4, rest: l3max & 0xffff }, quote);
        const packet = encodeIPv4(
          { tos: 0xc0, id: 0, flags: 0, fragmentOffset: 0, ttl: 64, protocol: 1, src: frame.subarray(ip + 16, ip + 20), dst: frame.subarray(ip + 12, ip + 16) },
          icmp,
        );
        result.reply.push(swappedEthernet(frame, l2, ETH_IPV4, packet));
        this.counters[Slot.IcmpErrors]++;
      }
      return this.drop(result, 'too_big');
    }

    // Fragment: the first piece keeps the whole header, later ones only the copied options.
    const laterOptions = copiedOptions(frame, ip + 20, ip + hlen);
    const dataStart = ip + hlen;
    const dataLen = total - hlen;
    const lastMf = flagsOffset & 0x2000;
    const keptFlags = flagsOffset & 0x8000; // the reserved bit travels; DF is clear here
    for (let done = 0, first = true; done < dataLen || first; first = false) {
      const headerLen = first ? hlen : 20 + laterOptions.length;
      const room = Math.floor((l3max - headerLen) / 8) * 8;
      if (room < 8) return this.drop(result, 'too_big');
      const chunk = Math.min(room, dataLen - done);
      const last = done + chunk === dataLen;
      const piece = Buffer.allocUnsafe(ip + headerLen + chunk);
      frame.copy(piece, 0, 0, ip + 20); // Ethernet header with tags, fixed IPv4 header
      if (first) frame.copy(piece, ip + 20, ip + 20, ip + hlen);
      else laterOptions.copy(piece, ip + 20);
      frame.copy(piece, ip + headerLen, dataStart + done, dataStart + done + chunk);
      piece[ip] = 0x40 | (headerLen >> 2);
      piece.writeUInt16BE(headerLen + chunk, ip + 2);
      piece.writeUInt16BE(keptFlags | (last ? lastMf : 0x2000) | (fragOffset + done / 8), ip + 6);
      piece.writeUInt16BE(0, ip + 10);
      piece.writeUInt16BE(internetChecksum(piece, ip, ip + headerLen), ip + 10);
      this.counters[Slot.Fragments]++;
      this.encapsulate(result, vni, vtep, hash, piece);
      done += chunk;
      if (last) break;
    }
    return result;
  }

  private oversizeIPv6(frame: Buffer, l2: L2, l3max: number, result: EgressResult): EgressResult {
    const ip = l2.l3off;
    if (frame.length < ip + 40 || frame[ip] >> 4 !== 6) return this.drop(result, 'malformed');
    const length = 40 + frame.readUInt16BE(ip + 4);
    if (ip + length > frame.length) return this.drop(result, 'malformed');
    const isIcmpError = frame[ip + 6] === 58 && length > 40 && frame[ip + 40] < 128;
    if (!isIcmpError) {
      const quote = frame.subarray(ip, ip + Math.min(length, ICMP6_QUOTE));
      const body = Buffer.allocUnsafe(4 + quote.length);
      body.writeUInt32BE(l3max, 0);
      quote.copy(body, 4);
      const src = frame.subarray(ip + 24, ip + 40);
      const dst = frame.subarray(ip + 8, ip + 24);
      const icmp = encodeIcmpv6(src, dst, { type: 2, code: 0 }, body);
      const packet = encodeIPv6({ nextHeader: 58, hopLimit: 64, src, dst }, icmp);
      result.reply.push(swappedEthernet(frame, l2, ETH_IPV6, packet));
      this.counters[Slot.IcmpErrors]++;
    }
    return this.drop(result, 'too_big');
  }

  /** Appends the VXLAN payload of `frame` to `result.out` — sealed as ESP on an encrypted network. */
  private encapsulate(result: EgressResult, vni: number, vtep: string, hash: number, frame: Buffer): void {
    const encryption = this.networks.get(vni)?.encryption;
    const udpLen = encryption === undefined ? 0 : UDP_HLEN;
    const datagram = Buffer.allocUnsafe(udpLen + VXLAN_HLEN + frame.length);
    writeVxlanHeader(datagram, udpLen, vni);
    frame.copy(datagram, udpLen + VXLAN_HLEN);
    this.counters[Slot.TxPackets]++;
    this.counters[Slot.TxBytes] += datagram.length - udpLen;
    if (encryption === undefined) {
      result.out.push({ vtep, flowHash: hash, payload: datagram });
      return;
    }
    // Checked after the FDB lookup; only a counter running out between two fragments gets here without one.
    const out = this.sas.findOutbound(vni, vtep);
    if (out === undefined) {
      this.drop(result, 'no_sa');
      return;
    }
    datagram.writeUInt16BE(ESP_SPORT_BASE + (hash % ESP_SPORT_RANGE), 0);
    datagram.writeUInt16BE(this.dataPort, 2);
    datagram.writeUInt16BE(datagram.length, 4);
    datagram.writeUInt16BE(0, 6);
    const payload = sealEsp(out.planned.sa, ++out.lastSeq, datagram, ESP_NEXT_HEADER_UDP);
    result.out.push({ vtep, flowHash: hash, payload, carrier: encryption.carrier });
  }

  private drop(result: EgressResult, reason: DropReason): EgressResult {
    this.counters[dropSlot(reason)]++;
    result.drop = reason;
    return result;
  }

  /** Counts a drop on the I/O side (TAP write or socket send refused, punt queue full). */
  countDrop(reason: DropReason): void {
    this.counters[dropSlot(reason)]++;
  }

  private dropIn(reason: DropReason): IngressResult {
    this.counters[dropSlot(reason)]++;
    return { drop: reason };
  }
}

/** Ethernet header with up to two VLAN tags skipped; undefined when truncated. */
function parseL2(frame: Buffer): L2 | undefined {
  if (frame.length < 14) return undefined;
  let off = 12;
  let tags = 0;
  let type = frame.readUInt16BE(off);
  while ((type === 0x8100 || type === 0x88a8) && tags < 2) {
    if (frame.length < off + 6) return undefined;
    off += 4;
    tags++;
    type = frame.readUInt16BE(off);
  }
  return { tags, l3off: off + 2, etherType: type };
}

/** An untagged IPv6 frame carrying ICMPv6 types 133–137 straight after the fixed header. */
function isNeighbourDiscovery(frame: Buffer, l2: L2): boolean {
  if (l2.etherType !== ETH_IPV6 || l2.tags !== 0 || frame.length < l2.l3off + 42) return false;
  const type = frame[l2.l3off + 40];
  return frame[l2.l3off + 6] === 58 && type >= 133 && type <= 137;
}

const isBroadcast = (frame: Buffer): boolean =>
  frame[0] === 0xff && frame[1] === 0xff && frame[2] === 0xff && frame[3] === 0xff && frame[4] === 0xff && frame[5] === 0xff;

function isZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** The frame's Ethernet header with source and destination swapped, same tags, around `payload`. */
function swappedEthernet(frame: Buffer, l2: L2, etherType: number, payload: Buffer): Buffer {
  const vlans: VlanTag[] = [];
  for (let i = 0; i < l2.tags; i++) vlans.push({ tpid: frame.readUInt16BE(12 + 4 * i), tci: frame.readUInt16BE(14 + 4 * i) });
  return encodeEthernet({ dst: frame.subarray(6, 12), src: frame.subarray(0, 6), vlans, etherType }, payload);
}

/** The IPv4 options in [start, end) whose copy bit is set, zero-padded to a multiple of 4. */
function copiedOptions(frame: Buffer, start: number, end: number): Buffer {
  const kept: Buffer[] = [];
  for (let i = start; i < end; ) {
    const type = frame[i];
    if (type === 0) break; // end of option list
    if (type === 1) {
      i++; // NOP: not copied
      continue;
    }
    if (i + 1 >= end) break;
    const len = frame[i + 1];
    if (len < 2 || i + len > end) break;
    if (type & 0x80) kept.push(frame.subarray(i, i + len));
    i += len;
  }
  const size = kept.reduce((n, b) => n + b.length, 0);
  const out = Buffer.alloc((size + 3) & ~3);
  let at = 0;
  for (const b of kept) at += b.copy(out, at);
  return out;
}

/** Canonical text form of an underlay address (IPv4-mapped IPv6 becomes IPv4). */
function canonicalAddress(addr: string): string | undefined {
  const lower = addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
  try {
    return formatIp(parseIp(lower));
  } catch {
    return undefined;
  }
}

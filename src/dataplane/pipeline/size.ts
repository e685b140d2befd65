/**
 * Egress stage "size": a frame longer than the network's MTU allows (MTU +
 * 14-byte Ethernet header) is answered with an ICMP "too big" (IPv4 with DF,
 * IPv6) or split into IPv4 fragments (RFC 791). The stage yields the pieces
 * to encapsulate, one at a time; it never encapsulates them itself.
 */
import {
  encodeEthernet,
  encodeIcmp,
  encodeIcmpv6,
  encodeIPv4,
  encodeIPv6,
  ETHERNET_HEADER_LENGTH,
  ETHERTYPE,
  ICMP_CODE_FRAG_NEEDED,
  ICMP_TYPE,
  ICMPV6_TYPE,
  internetChecksum,
  IP_PROTOCOL,
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  IPV4_MIN_HEADER_LENGTH,
  IPV6_HEADER_LENGTH,
  type VlanTag,
} from '../../wire/index.js';
import type { DropReason } from '../datapath.js';
import { isGroupFrame, type L2 } from './frame.js';

/** Largest share of the original packet quoted in an ICMPv4 error (576 − 28). */
const ICMP4_QUOTE = 548;
/** Largest share quoted in an ICMPv6 error (1280 − 48). */
const ICMP6_QUOTE = 1232;
/** Bits of the IPv4 flags / fragment offset word. */
const DF = IPV4_FLAG_DF << 13;
const MF = IPV4_FLAG_MF << 13;
const RESERVED = 0x8000;
const OFFSET_MASK = 0x1fff;

/** How the size stage ended: undefined when every piece was yielded, else the drop and the ICMP reply to send back, if one is due. */
export type SizeEnd = { drop: DropReason; reply?: Buffer } | undefined;

/**
 * Yields `frame` itself when it fits `mtu`, else its IPv4 fragments in
 * order, and returns how it ended; pieces yielded before a drop stay valid.
 */
export function* size(frame: Buffer, l2: L2, mtu: number): Generator<Buffer, SizeEnd, void> {
  const maxFrame = mtu + ETHERNET_HEADER_LENGTH;
  if (frame.length <= maxFrame) {
    yield frame;
    return undefined;
  }
  const l3max = maxFrame - l2.l3off;
  if (l2.etherType === ETHERTYPE.IPV4) return yield* oversizeIPv4(frame, l2, l3max);
  if (l2.etherType === ETHERTYPE.IPV6) return oversizeIPv6(frame, l2, l3max);
  return { drop: 'too_big' };
}

/** An IPv4 packet longer than `l3max`: ICMP "fragmentation needed" when DF is set, else its fragments. */
function* oversizeIPv4(frame: Buffer, l2: L2, l3max: number): Generator<Buffer, SizeEnd, void> {
  const ip = l2.l3off;
  if (frame.length < ip + IPV4_MIN_HEADER_LENGTH) return { drop: 'malformed' };
  const ihl = frame[ip] & 0x0f;
  const hlen = ihl * 4;
  const total = frame.readUInt16BE(ip + 2);
  if (frame[ip] >> 4 !== 4 || ihl < 5 || total < hlen || ip + total > frame.length) return { drop: 'malformed' };
  const flagsOffset = frame.readUInt16BE(ip + 6);
  const fragOffset = flagsOffset & OFFSET_MASK;

  if ((flagsOffset & DF) !== 0) {
    const protocol = frame[ip + 9];
    const icmpType = total > hlen ? frame[ip + hlen] : -1;
    // No ICMP error about a non-first fragment, nor about ICMP other than echo (RFC 1812 4.3.2.7), nor to a group (RFC 1122 3.2.2).
    const quiet = fragOffset !== 0 || (protocol === IP_PROTOCOL.ICMP && icmpType !== ICMP_TYPE.ECHO_REPLY && icmpType !== ICMP_TYPE.ECHO_REQUEST) || isGroupFrame(frame);
    if (quiet) return { drop: 'too_big' };
    const quote = frame.subarray(ip, ip + Math.min(total, ICMP4_QUOTE));
    const icmp = encodeIcmp({ type: ICMP_TYPE.DEST_UNREACHABLE, code: ICMP_CODE_FRAG_NEEDED, rest: l3max & 0xffff }, quote);
    const packet = encodeIPv4(
      { tos: 0xc0, id: 0, flags: 0, fragmentOffset: 0, ttl: 64, protocol: IP_PROTOCOL.ICMP, src: frame.subarray(ip + 16, ip + 20), dst: frame.subarray(ip + 12, ip + 16) },
      icmp,
    );
    return { drop: 'too_big', reply: swappedEthernet(frame, l2, ETHERTYPE.IPV4, packet) };
  }

  // The first piece keeps the whole header, later ones only the copied options.
  const laterOptions = copiedOptions(frame, ip + IPV4_MIN_HEADER_LENGTH, ip + hlen);
  const dataStart = ip + hlen;
  const dataLen = total - hlen;
  const lastMf = flagsOffset & MF;
  const keptFlags = flagsOffset & RESERVED; // the reserved bit travels; DF is clear here
  for (let done = 0, first = true; done < dataLen || first; first = false) {
    const headerLen = first ? hlen : IPV4_MIN_HEADER_LENGTH + laterOptions.length;
    const room = Math.floor((l3max - headerLen) / 8) * 8;
    if (room < 8) return { drop: 'too_big' }; // only the first piece: later ones carry a subset of its options
    const chunk = Math.min(room, dataLen - done);
    const last = done + chunk === dataLen;
    const piece = Buffer.allocUnsafe(ip + headerLen + chunk);
    frame.copy(piece, 0, 0, ip + IPV4_MIN_HEADER_LENGTH); // Ethernet header with tags, fixed IPv4 header
    if (first) frame.copy(piece, ip + IPV4_MIN_HEADER_LENGTH, ip + IPV4_MIN_HEADER_LENGTH, ip + hlen);
    else laterOptions.copy(piece, ip + IPV4_MIN_HEADER_LENGTH);
    frame.copy(piece, ip + headerLen, dataStart + done, dataStart + done + chunk);
    piece[ip] = 0x40 | (headerLen >> 2);
    piece.writeUInt16BE(headerLen + chunk, ip + 2);
    piece.writeUInt16BE(keptFlags | (last ? lastMf : MF) | (fragOffset + done / 8), ip + 6);
    piece.writeUInt16BE(0, ip + 10);
    piece.writeUInt16BE(internetChecksum(piece, ip, ip + headerLen), ip + 10);
    yield piece;
    done += chunk;
    if (last) break;
  }
  return undefined;
}

/** An IPv6 packet longer than `l3max`: ICMPv6 "packet too big" unless it is an ICMPv6 error itself; never fragmented. */
function oversizeIPv6(frame: Buffer, l2: L2, l3max: number): SizeEnd {
  const ip = l2.l3off;
  if (frame.length < ip + IPV6_HEADER_LENGTH || frame[ip] >> 4 !== 6) return { drop: 'malformed' };
  const length = IPV6_HEADER_LENGTH + frame.readUInt16BE(ip + 4);
  if (ip + length > frame.length) return { drop: 'malformed' };
  const isIcmpError = frame[ip + 6] === IP_PROTOCOL.ICMPV6 && length > IPV6_HEADER_LENGTH && frame[ip + IPV6_HEADER_LENGTH] < 128;
  // To a group (a multicast network's replication): the error would have to come from the group address.
  if (isIcmpError || isGroupFrame(frame)) return { drop: 'too_big' };
  const quote = frame.subarray(ip, ip + Math.min(length, ICMP6_QUOTE));
  const body = Buffer.allocUnsafe(4 + quote.length);
  body.writeUInt32BE(l3max, 0);
  quote.copy(body, 4);
  const src = frame.subarray(ip + 24, ip + 40);
  const dst = frame.subarray(ip + 8, ip + 24);
  const icmp = encodeIcmpv6(src, dst, { type: ICMPV6_TYPE.PACKET_TOO_BIG, code: 0 }, body);
  const packet = encodeIPv6({ nextHeader: IP_PROTOCOL.ICMPV6, hopLimit: 64, src, dst }, icmp);
  return { drop: 'too_big', reply: swappedEthernet(frame, l2, ETHERTYPE.IPV6, packet) };
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
  const bytes = kept.reduce((n, b) => n + b.length, 0);
  const out = Buffer.alloc((bytes + 3) & ~3);
  let at = 0;
  for (const b of kept) at += b.copy(out, at);
  return out;
}

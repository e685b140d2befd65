/**
 * ICMPv6 (RFC 4443): the 4-byte header and its pseudo-header checksum.
 * Neighbour discovery lives in ./neighbor-discovery.ts and is re-exported here.
 */
import { asBuffer, messageLength, requireLength, requireUint } from './bounds.js';
import { foldChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { WireError } from './errors.js';
import { IP_PROTOCOL } from './ipv4.js';

export * from './neighbor-discovery.js';

/** ICMPv6 types overlayd reads or writes. */
export const ICMPV6_TYPE = {
  DEST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
} as const;
/** Length of the ICMPv6 header (type, code, checksum). */
export const ICMPV6_HEADER_LENGTH = 4;

/** A decoded ICMPv6 message. `body` aliases the input buffer. */
export interface Icmpv6Message {
  type: number;
  code: number;
  /** Checksum as received (verify with {@link icmpv6ChecksumValid}). */
  checksum: number;
  /** Bytes after the 4-byte header (for echo: id, seq, data; for ND: see decodeNeighborMessage). */
  body: Buffer;
}

/**
 * Decodes the ICMPv6 message at `offset`, `length` bytes long (default: to
 * the end of `buf`). The checksum is not verified.
 * @throws WireError TRUNCATED when fewer than 4 bytes, or `length` exceeds the input
 */
export function decodeIcmpv6(buf: Uint8Array, offset = 0, length?: number): Icmpv6Message {
  const len = messageLength(buf, offset, length, 'ICMPv6');
  if (len < ICMPV6_HEADER_LENGTH) throw new WireError('TRUNCATED', `ICMPv6: ${len} bytes < ${ICMPV6_HEADER_LENGTH}`);
  const b = asBuffer(buf);
  return {
    type: b[offset],
    code: b[offset + 1],
    checksum: b.readUInt16BE(offset + 2),
    body: b.subarray(offset + ICMPV6_HEADER_LENGTH, offset + len),
  };
}

/**
 * Builds a new ICMPv6 message whose checksum covers the IPv6 pseudo-header of
 * `src` → `dst` (16 bytes each).
 * @throws WireError BAD_VALUE for bad addresses or fields
 */
export function encodeIcmpv6(src: Uint8Array, dst: Uint8Array, m: { type: number; code: number }, body: Uint8Array): Buffer {
  requireLength(src, 16, 'ICMPv6 src');
  requireLength(dst, 16, 'ICMPv6 dst');
  requireUint(m.type, 0xff, 'ICMPv6 type');
  requireUint(m.code, 0xff, 'ICMPv6 code');
  const out = Buffer.allocUnsafe(ICMPV6_HEADER_LENGTH + body.length);
  out[0] = m.type;
  out[1] = m.code;
  out.writeUInt16BE(0, 2);
  asBuffer(body).copy(out, ICMPV6_HEADER_LENGTH);
  const sum = onesComplementSum(out, 0, out.length, pseudoHeaderSum(src, dst, IP_PROTOCOL.ICMPV6, out.length));
  out.writeUInt16BE(foldChecksum(sum), 2);
  return out;
}

/**
 * True when the ICMPv6 message at `offset` (`length` bytes, default to the
 * end) has a correct checksum for `src` → `dst`. False, never an exception,
 * for bad addresses or a range outside `buf`.
 */
export function icmpv6ChecksumValid(src: Uint8Array, dst: Uint8Array, buf: Uint8Array, offset = 0, length?: number): boolean {
  if (src.length !== 16 || dst.length !== 16) return false;
  let len: number;
  try {
    len = messageLength(buf, offset, length, 'ICMPv6');
  } catch {
    return false;
  }
  if (len < ICMPV6_HEADER_LENGTH) return false;
  const sum = onesComplementSum(buf, offset, offset + len, pseudoHeaderSum(src, dst, IP_PROTOCOL.ICMPV6, len));
  return foldChecksum(sum) === 0;
}

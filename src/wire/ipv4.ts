/** IPv4 headers (RFC 791). */
import { asBuffer, need, requireLength, requireUint } from './bounds.js';
import { internetChecksum } from './checksum.js';
import { WireError } from './errors.js';

/** Don't Fragment, in {@link IPv4Header.flags}. */
export const IPV4_FLAG_DF = 0x2;
/** More Fragments, in {@link IPv4Header.flags}. */
export const IPV4_FLAG_MF = 0x1;
/** Header length without options. */
export const IPV4_MIN_HEADER_LENGTH = 20;
/** IP protocol numbers used in overlayd. */
export const IP_PROTOCOL = { ICMP: 1, IGMP: 2, TCP: 6, UDP: 17, ESP: 50, ICMPV6: 58 } as const;

/** A decoded IPv4 header. `src`, `dst` and `options` alias the input buffer. */
export interface IPv4Header {
  version: 4;
  /** Header length in 32-bit words (5..15). */
  ihl: number;
  /** Header length in bytes (ihl × 4). */
  headerLength: number;
  tos: number;
  /** Header + payload bytes, as the header states (checked to fit the input). */
  totalLength: number;
  id: number;
  /** 3 bits: reserved, DF (0x2), MF (0x1). */
  flags: number;
  /** Fragment offset in 8-byte units. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  /** Header checksum as received (not verified; see {@link ipv4HeaderChecksumValid}). */
  checksum: number;
  src: Buffer;
  dst: Buffer;
  /** Option bytes (headerLength − 20 of them), possibly empty. */
  options: Buffer;
}

/**
 * Decodes the IPv4 header at `offset`. The checksum is not verified.
 * @throws WireError TRUNCATED (header or totalLength past the input), BAD_VERSION, BAD_LENGTH (IHL < 5, totalLength < header)
 */
export function decodeIPv4(buf: Uint8Array, offset = 0): IPv4Header {
  const b = need(buf, offset, IPV4_MIN_HEADER_LENGTH, 'IPv4');
  const version = b[offset] >> 4;
  if (version !== 4) throw new WireError('BAD_VERSION', `IPv4: version ${version}`);
  const ihl = b[offset] & 0x0f;
  if (ihl < 5) throw new WireError('BAD_LENGTH', `IPv4: IHL ${ihl} < 5`);
  const headerLength = ihl * 4;
  need(b, offset, headerLength, 'IPv4 options');
  const totalLength = b.readUInt16BE(offset + 2);
  if (totalLength < headerLength) throw new WireError('BAD_LENGTH', `IPv4: total length ${totalLength} < header ${headerLength}`);
  need(b, offset, totalLength, 'IPv4 total length');
  const fragment = b.readUInt16BE(offset + 6);
  return {
    version: 4,
    ihl,
    headerLength,
    tos: b[offset + 1],
    totalLength,
    id: b.readUInt16BE(offset + 4),
    flags: fragment >> 13,
    fragmentOffset: fragment & 0x1fff,
    ttl: b[offset + 8],
    protocol: b[offset + 9],
    checksum: b.readUInt16BE(offset + 10),
    src: b.subarray(offset + 12, offset + 16),
    dst: b.subarray(offset + 16, offset + 20),
    options: b.subarray(offset + 20, offset + headerLength),
  };
}

/**
 * Builds a new IPv4 packet: header (total length and checksum computed) then
 * `payload`. Defaults: tos 0, id 0, flags 0, fragmentOffset 0, ttl 64.
 * @throws WireError BAD_VALUE for bad fields or addresses; BAD_LENGTH for options
 *   not a multiple of 4 or over 40 bytes, or a packet over 65535 bytes
 */
export function encodeIPv4(
  h: {
    tos?: number;
    id?: number;
    flags?: number;
    fragmentOffset?: number;
    ttl?: number;
    protocol: number;
    src: Uint8Array;
    dst: Uint8Array;
    options?: Uint8Array;
  },
  payload: Uint8Array,
): Buffer {
  const { tos = 0, id = 0, flags = 0, fragmentOffset = 0, ttl = 64, protocol } = h;
  requireUint(tos, 0xff, 'IPv4 tos');
  requireUint(id, 0xffff, 'IPv4 id');
  requireUint(flags, 0x7, 'IPv4 flags');
  requireUint(fragmentOffset, 0x1fff, 'IPv4 fragment offset');
  requireUint(ttl, 0xff, 'IPv4 ttl');
  requireUint(protocol, 0xff, 'IPv4 protocol');
  requireLength(h.src, 4, 'IPv4 src');
  requireLength(h.dst, 4, 'IPv4 dst');
  const options = h.options ?? new Uint8Array(0);
  if (options.length % 4 !== 0 || options.length > 40) {
    throw new WireError('BAD_LENGTH', `IPv4 options must be a multiple of 4 up to 40 bytes, got ${options.length}`);
  }
  const headerLength = IPV4_MIN_HEADER_LENGTH + options.length;
  const totalLength = headerLength + payload.length;
  if (totalLength > 0xffff) throw new WireError('BAD_LENGTH', `IPv4 packet of ${totalLength} bytes exceeds 65535`);
  const out = Buffer.allocUnsafe(totalLength);
  out[0] = 0x40 | (headerLength >> 2);
  out[1] = tos;
  out.writeUInt16BE(totalLength, 2);
  out.writeUInt16BE(id, 4);
  out.writeUInt16BE((flags << 13) | fragmentOffset, 6);
  out[8] = ttl;
  out[9] = protocol;
  out.writeUInt16BE(0, 10);
  out.set(h.src, 12);
  out.set(h.dst, 16);
  out.set(options, 20);
  out.writeUInt16BE(internetChecksum(out, 0, headerLength), 10);
  asBuffer(payload).copy(out, headerLength);
  return out;
}

/**
 * True when the IPv4 header at `offset` is complete and its checksum is
 * correct; false for a wrong checksum or a header too short to check.
 */
export function ipv4HeaderChecksumValid(buf: Uint8Array, offset = 0): boolean {
  if (!Number.isInteger(offset) || offset < 0 || offset + IPV4_MIN_HEADER_LENGTH > buf.length) return false;
  const headerLength = (buf[offset] & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER_LENGTH || offset + headerLength > buf.length) return false;
  return internetChecksum(buf, offset, offset + headerLength) === 0;
}

/**
 * The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-headers that
 * UDP, TCP and ICMPv6 checksums cover (RFC 768, RFC 8200 §8.1).
 *
 * Sums are kept "unfolded": a plain integer that may exceed 16 bits, so that
 * partial sums over several ranges can be added and folded once at the end.
 * JavaScript numbers stay exact up to 2^53, far beyond any packet.
 */
import { WireError } from './errors.js';

/**
 * Adds the big-endian 16-bit words of `buf[start, end)` to `initial`; an odd
 * trailing byte counts as the high byte of a word. Returns the unfolded sum.
 * @throws WireError BAD_LENGTH when the range is not inside `buf`
 */
export function onesComplementSum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > buf.length) {
    throw new WireError('BAD_LENGTH', `checksum range [${start}, ${end}) not inside buffer of ${buf.length}`);
  }
  let sum = initial;
  let i = start;
  const evenEnd = end - ((end - start) & 1);
  for (; i < evenEnd; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  return sum;
}

/** Folds the carries of an unfolded sum into 16 bits and complements it. */
export function foldChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/**
 * RFC 1071 checksum of `buf[start, end)` (default: all of it). Over a range
 * that includes a correct checksum field the result is 0.
 */
export function internetChecksum(buf: Uint8Array, start = 0, end: number = buf.length): number {
  return foldChecksum(onesComplementSum(buf, start, end));
}

/**
 * Unfolded sum of the pseudo-header for an upper-layer packet of `length`
 * bytes: IPv4 (RFC 768) when the addresses are 4 bytes, IPv6 (RFC 8200 §8.1)
 * when they are 16.
 * @throws WireError BAD_VALUE for mismatched or odd-sized addresses
 */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  if (src.length !== dst.length || (src.length !== 4 && src.length !== 16)) {
    throw new WireError('BAD_VALUE', `pseudo-header needs two 4- or two 16-byte addresses, got ${src.length} and ${dst.length}`);
  }
  let sum = onesComplementSum(src, 0, src.length);
  sum = onesComplementSum(dst, 0, dst.length, sum);
  // IPv4: zero, protocol, 16-bit length. IPv6: 32-bit length, 3 zero bytes, next header.
  return sum + (protocol & 0xff) + Math.floor(length / 0x10000) + (length % 0x10000);
}

/** UDP (RFC 768; IPv6 checksum rules from RFC 8200 §8.1). */
import { asBuffer, need, requireUint } from './bounds.js';
import { foldChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { WireError } from './errors.js';
import { IP_PROTOCOL } from './ipv4.js';

/** Length of a UDP header. */
export const UDP_HEADER_LENGTH = 8;

/** A decoded UDP header. */
export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  /** Header + payload bytes as stated (checked: ≥ 8 and within the input). */
  length: number;
  /** As received; 0 = not computed (IPv4 only). */
  checksum: number;
}

/**
 * Decodes the UDP header at `offset`; the payload is
 * `buf[offset + 8, offset + length)`. The checksum is not verified.
 * @throws WireError TRUNCATED (header, or `length` past the input), BAD_LENGTH (length < 8)
 */
export function decodeUdp(buf: Uint8Array, offset = 0): UdpHeader {
  const b = need(buf, offset, UDP_HEADER_LENGTH, 'UDP');
  const length = b.readUInt16BE(offset + 4);
  if (length < UDP_HEADER_LENGTH) throw new WireError('BAD_LENGTH', `UDP: length ${length} < 8`);
  need(b, offset, length, 'UDP length');
  return { srcPort: b.readUInt16BE(offset), dstPort: b.readUInt16BE(offset + 2), length, checksum: b.readUInt16BE(offset + 6) };
}

/**
 * Builds a new UDP datagram (header + `payload`) with its checksum over the
 * IPv4 or IPv6 pseudo-header of `src` → `dst`; a computed 0 is sent as 0xffff.
 * @throws WireError BAD_VALUE for bad ports or addresses, BAD_LENGTH over 65535 bytes
 */
export function encodeUdp(src: Uint8Array, dst: Uint8Array, h: { srcPort: number; dstPort: number }, payload: Uint8Array): Buffer {
  requireUint(h.srcPort, 0xffff, 'UDP source port');
  requireUint(h.dstPort, 0xffff, 'UDP destination port');
  const length = UDP_HEADER_LENGTH + payload.length;
  if (length > 0xffff) throw new WireError('BAD_LENGTH', `UDP datagram of ${length} bytes exceeds 65535`);
  const pseudo = pseudoHeaderSum(src, dst, IP_PROTOCOL.UDP, length);
  const out = Buffer.allocUnsafe(length);
  out.writeUInt16BE(h.srcPort, 0);
  out.writeUInt16BE(h.dstPort, 2);
  out.writeUInt16BE(length, 4);
  out.writeUInt16BE(0, 6);
  asBuffer(payload).copy(out, UDP_HEADER_LENGTH);
  const checksum = foldChecksum(onesComplementSum(out, 0, length, pseudo));
  out.writeUInt16BE(checksum === 0 ? 0xffff : checksum, 6);
  return out;
}

/**
 * True when the UDP datagram at `offset` (its stated length) has a correct
 * checksum for `src` → `dst`, or carries checksum 0 over IPv4 (not computed).
 * False, never an exception, for malformed input.
 */
export function udpChecksumValid(src: Uint8Array, dst: Uint8Array, buf: Uint8Array, offset = 0): boolean {
  let h: UdpHeader;
  try {
    h = decodeUdp(buf, offset);
    if (h.checksum === 0) return src.length === 4 && dst.length === 4;
    return foldChecksum(onesComplementSum(buf, offset, offset + h.length, pseudoHeaderSum(src, dst, IP_PROTOCOL.UDP, h.length))) === 0;
  } catch {
    return false;
  }
}

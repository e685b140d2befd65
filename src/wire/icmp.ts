/** ICMP for IPv4 (RFC 792, RFC 1191 for "fragmentation needed"). */
import { asBuffer, messageLength, requireUint } from './bounds.js';
import { internetChecksum } from './checksum.js';
import { WireError } from './errors.js';

/** ICMPv4 types overlayd reads or writes. */
export const ICMP_TYPE = { ECHO_REPLY: 0, DEST_UNREACHABLE: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11 } as const;
/** Destination-unreachable code for "fragmentation needed and DF set"; `rest` low 16 bits = next-hop MTU. */
export const ICMP_CODE_FRAG_NEEDED = 4;
/** Length of the ICMP header including the 4 type-specific bytes. */
export const ICMP_HEADER_LENGTH = 8;

/** A decoded ICMPv4 message. `body` aliases the input buffer. */
export interface IcmpMessage {
  type: number;
  code: number;
  /** Checksum as received (verify with internetChecksum over the message = 0). */
  checksum: number;
  /** Bytes 4..7 as an unsigned 32-bit value (echo: id << 16 | seq; frag-needed: MTU in the low half). */
  rest: number;
  /** Bytes after the 8-byte header. */
  body: Buffer;
}

/**
 * Decodes the ICMP message at `offset`, `length` bytes long (default: to the
 * end of `buf`, so pass the IP payload length when the frame may be padded).
 * @throws WireError TRUNCATED when fewer than 8 bytes, or `length` exceeds the input
 */
export function decodeIcmp(buf: Uint8Array, offset = 0, length?: number): IcmpMessage {
  const len = messageLength(buf, offset, length, 'ICMP');
  if (len < ICMP_HEADER_LENGTH) throw new WireError('TRUNCATED', `ICMP: ${len} bytes < ${ICMP_HEADER_LENGTH}`);
  const b = asBuffer(buf);
  return {
    type: b[offset],
    code: b[offset + 1],
    checksum: b.readUInt16BE(offset + 2),
    rest: b.readUInt32BE(offset + 4),
    body: b.subarray(offset + ICMP_HEADER_LENGTH, offset + len),
  };
}

/**
 * Builds a new ICMPv4 message with its checksum.
 * @throws WireError BAD_VALUE for out-of-range fields
 */
export function encodeIcmp(m: { type: number; code: number; rest?: number }, body: Uint8Array): Buffer {
  const rest = m.rest ?? 0;
  requireUint(m.type, 0xff, 'ICMP type');
  requireUint(m.code, 0xff, 'ICMP code');
  requireUint(rest, 0xffffffff, 'ICMP rest');
  const out = Buffer.allocUnsafe(ICMP_HEADER_LENGTH + body.length);
  out[0] = m.type;
  out[1] = m.code;
  out.writeUInt16BE(0, 2);
  out.writeUInt32BE(rest, 4);
  asBuffer(body).copy(out, ICMP_HEADER_LENGTH);
  out.writeUInt16BE(internetChecksum(out), 2);
  return out;
}

/**
 * CRC frames: `[12][crc32 IEEE, big-endian][payload]`. A sender adds one
 * only toward nodes that speak protocol ≥ 5; a receiver checks it whenever
 * present (net.go `ingestPacket`).
 */
import { crc32 } from 'node:zlib';
import { wireError } from './errors.js';
import { MessageType } from './message-types.js';

/** Size of the CRC header. */
export const CRC_HEADER_SIZE = 5;

/** Prefixes `payload` with a hasCrc header. */
export function addCrc(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(CRC_HEADER_SIZE + payload.length);
  out[0] = MessageType.HasCrc;
  out.writeUInt32BE(crc32(payload) >>> 0, 1);
  payload.copy(out, CRC_HEADER_SIZE);
  return out;
}

/**
 * Removes and checks a leading hasCrc header (returns `buf` unchanged when
 * there is none, as Go does for buffers shorter than 5 bytes). Throws BAD_CRC.
 */
export function stripCrc(buf: Buffer): Buffer {
  if (buf.length < CRC_HEADER_SIZE || buf[0] !== MessageType.HasCrc) return buf;
  const payload = buf.subarray(CRC_HEADER_SIZE);
  const expected = buf.readUInt32BE(1);
  const actual = crc32(payload) >>> 0;
  if (actual !== expected) {
    wireError('BAD_CRC', `checksum ${actual.toString(16)} does not match ${expected.toString(16)}`);
  }
  return payload;
}

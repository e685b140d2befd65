/**
 * Compress messages: `[9][msgpack {Algo: 0, Buf: lzw bytes}]` wrapping one
 * message (util.go `compressPayload` / `decompressPayload`).
 */
import { wireError } from './errors.js';
import { lzwCompress, lzwDecompress } from './lzw.js';
import { decodeBody, encodeMessage } from './messages.js';
import { LZW_ALGO, MessageType, type Compress } from './message-types.js';

/** Largest message a compressed packet may expand to (guards against LZW bombs). */
export const MAX_PACKET_DECOMPRESSED = 1 << 20;
/** Largest stream payload memberlist accepts (`maxPushStateBytes`, 20 MiB). */
export const MAX_STREAM_BYTES = 20 * 1024 * 1024;

/** Wraps `message` in a compress message (always; callers decide whether it pays). */
export function compressMessage(message: Buffer): Buffer {
  return encodeMessage(MessageType.Compress, { Algo: LZW_ALGO, Buf: lzwCompress(message) } satisfies Compress);
}

/**
 * Unwraps the body of a compress message (the bytes after `[9]`). Throws
 * UNKNOWN_TYPE for an algorithm other than LZW, BAD_COMPRESSION, TOO_LARGE.
 */
export function decompressBody(body: Buffer, maxOutput: number): Buffer {
  const c = decodeBody<Compress>(MessageType.Compress, body);
  return decompressValue(c, maxOutput);
}

/** Decompresses an already decoded compress body. */
export function decompressValue(c: Compress, maxOutput: number): Buffer {
  if (c.Algo !== LZW_ALGO) wireError('UNKNOWN_TYPE', `cannot decompress unknown algorithm ${c.Algo}`);
  return lzwDecompress(c.Buf, maxOutput);
}

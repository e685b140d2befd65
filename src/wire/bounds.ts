/**
 * Internal helpers shared by the codecs: zero-copy Buffer views and the bounds
 * checks that make every decoder throw WireError instead of reading past the
 * end of its input. Not re-exported from index.ts.
 */
import { WireError } from './errors.js';

/** A Buffer over the same memory as `b` (no copy). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Checks that `offset` is a valid start inside `buf` and that `need` bytes are
 * available from it; returns `buf` as a Buffer.
 * @throws WireError BAD_VALUE for a negative or non-integer offset, TRUNCATED when short.
 */
export function need(buf: Uint8Array, offset: number, need: number, what: string): Buffer {
  if (!Number.isInteger(offset) || offset < 0) throw new WireError('BAD_VALUE', `${what}: bad offset ${offset}`);
  if (offset + need > buf.length) {
    throw new WireError('TRUNCATED', `${what}: need ${need} bytes at offset ${offset}, have ${Math.max(0, buf.length - offset)}`);
  }
  return asBuffer(buf);
}

/**
 * Resolves an optional explicit message length: defaults to the rest of the
 * buffer, and must fit inside it.
 * @throws WireError BAD_VALUE / BAD_LENGTH / TRUNCATED
 */
export function messageLength(buf: Uint8Array, offset: number, length: number | undefined, what: string): number {
  if (!Number.isInteger(offset) || offset < 0) throw new WireError('BAD_VALUE', `${what}: bad offset ${offset}`);
  if (offset > buf.length) throw new WireError('TRUNCATED', `${what}: offset ${offset} past end ${buf.length}`);
  if (length === undefined) return buf.length - offset;
  if (!Number.isInteger(length) || length < 0) throw new WireError('BAD_LENGTH', `${what}: bad length ${length}`);
  if (offset + length > buf.length) {
    throw new WireError('TRUNCATED', `${what}: length ${length} at offset ${offset} exceeds buffer of ${buf.length}`);
  }
  return length;
}

/** Checks an address argument's length (4, 6 or 16 bytes). @throws WireError BAD_VALUE */
export function requireLength(b: Uint8Array, len: number, what: string): void {
  if (b.length !== len) throw new WireError('BAD_VALUE', `${what}: expected ${len} bytes, got ${b.length}`);
}

/** Checks an unsigned integer field argument. @throws WireError BAD_VALUE */
export function requireUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new WireError('BAD_VALUE', `${what}: ${v} is not an integer in 0..${max}`);
}

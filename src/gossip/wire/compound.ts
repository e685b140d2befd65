/**
 * Compound messages: several messages in one packet,
 * `[7][count u8][count × u16 BE length][messages]` (util.go
 * `makeCompoundMessage` / `decodeCompoundMessage`).
 */
import { wireError } from './errors.js';
import { MessageType } from './message-types.js';

/** Most messages one compound can carry (the count is one byte). */
export const MAX_COMPOUND_PARTS = 255;

/** Builds one compound message of at most 255 parts (each < 64 KiB). */
export function encodeCompound(messages: readonly Buffer[]): Buffer {
  if (messages.length > MAX_COMPOUND_PARTS) throw new RangeError(`a compound holds at most ${MAX_COMPOUND_PARTS} messages`);
  let total = 2 + 2 * messages.length;
  for (const m of messages) {
    if (m.length > 0xffff) throw new RangeError('a compound part must be shorter than 64 KiB');
    total += m.length;
  }
  const out = Buffer.allocUnsafe(total);
  out[0] = MessageType.Compound;
  out[1] = messages.length;
  let offset = 2;
  for (const m of messages) offset = out.writeUInt16BE(m.length, offset);
  for (const m of messages) offset += m.copy(out, offset);
  return out;
}

/**
 * Packs messages into compounds of at most 255 parts each (memberlist's
 * `makeCompoundMessages`). A single message is returned as it is.
 */
export function makeCompound(messages: readonly Buffer[]): Buffer[] {
  if (messages.length <= 1) return [...messages];
  const out: Buffer[] = [];
  for (let i = 0; i < messages.length; i += MAX_COMPOUND_PARTS) {
    const chunk = messages.slice(i, i + MAX_COMPOUND_PARTS);
    out.push(chunk.length === 1 ? chunk[0]! : encodeCompound(chunk));
  }
  return out;
}

/**
 * Splits a compound body (the bytes after the `[7]` type byte). Parts cut
 * short at the end are skipped and counted in `truncated`, as Go does; a
 * missing count or length table throws TRUNCATED.
 */
export function decodeCompound(body: Buffer): { parts: Buffer[]; truncated: number } {
  if (body.length < 1) wireError('TRUNCATED', 'compound: missing part count');
  const count = body[0]!;
  if (body.length < 1 + 2 * count) wireError('TRUNCATED', 'compound: truncated length table');
  const parts: Buffer[] = [];
  let offset = 1 + 2 * count;
  for (let i = 0; i < count; i++) {
    const len = body.readUInt16BE(1 + 2 * i);
    if (offset + len > body.length) return { parts, truncated: count - i };
    parts.push(body.subarray(offset, offset + len));
    offset += len;
  }
  return { parts, truncated: 0 };
}

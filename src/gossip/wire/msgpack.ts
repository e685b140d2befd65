/**
 * msgpack exactly as memberlist's go-msgpack handle (`codec.MsgpackHandle{}`,
 * WriteExt off) writes it, and a tolerant decoder.
 *
 * Encoding (checked against Go output by test/gossip/wire/golden.test.ts):
 * - unsigned integers in the smallest form (fixint, 0xcc–0xcf); negative
 *   ones in the smallest signed form;
 * - strings and byte slices in the old raw family only: fixstr, 0xda, 0xdb —
 *   never str8 (0xd9) nor bin (0xc4–0xc6);
 * - `null`/`undefined` as nil (0xc0), which is how Go writes a nil slice;
 * - maps in the key order given (callers sort struct fields, see messages.ts).
 *
 * Decoding accepts every integer form, str8 and bin, float32/64, and turns
 * every string or binary value into a `Buffer` (raw, never lossy UTF-8); map
 * keys become JavaScript strings. Bad input throws {@link GossipWireError}.
 */
import { GossipWireError, wireError } from './errors.js';

/** How {@link decodeMsgpack} returns values. */
export interface MsgpackDecodeOptions {
  /**
   * Strings (the str/raw family) as UTF-8 JavaScript strings, for documents
   * of our own such as the cluster's entries. Off (the default) for
   * memberlist's bodies, where Go writes []byte as raw strings: every string
   * is then a Buffer, never lossy UTF-8. bin values are Buffers either way.
   */
  text?: boolean;
}

/** A decoded msgpack map: keys as strings, values as decoded. */
export type MsgpackMap = { [key: string]: MsgpackValue };
/** What {@link decodeMsgpack} produces. */
export type MsgpackValue = null | boolean | number | bigint | Buffer | string | MsgpackValue[] | MsgpackMap;

/** Deepest nesting of arrays/maps accepted (memberlist bodies are flat). */
const MAX_DEPTH = 32;

/** A growable output buffer for the encoder. */
class MsgpackWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initial = 64) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  u16(tag: number, v: number): void {
    this.reserve(3);
    this.buf[this.len] = tag;
    this.buf.writeUInt16BE(v, this.len + 1);
    this.len += 3;
  }

  u32(tag: number, v: number): void {
    this.reserve(5);
    this.buf[this.len] = tag;
    this.buf.writeUInt32BE(v, this.len + 1);
    this.len += 5;
  }

  u64(tag: number, v: bigint): void {
    this.reserve(9);
    this.buf[this.len] = tag;
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.len + 1);
    this.len += 9;
  }

  f64(v: number): void {
    this.reserve(9);
    this.buf[this.len] = 0xcb;
    this.buf.writeDoubleBE(v, this.len + 1);
    this.len += 9;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

function writeUint(w: MsgpackWriter, v: number | bigint): void {
  if (typeof v === 'bigint' || v > 0xffffffff) {
    w.u64(0xcf, BigInt(v));
  } else if (v <= 0x7f) w.byte(v);
  else if (v <= 0xff) {
    w.byte(0xcc);
    w.byte(v);
  } else if (v <= 0xffff) w.u16(0xcd, v);
  else w.u32(0xce, v);
}

function writeInt(w: MsgpackWriter, v: number | bigint): void {
  if (v >= 0) return writeUint(w, v);
  if (typeof v === 'bigint' || v < -0x80000000) {
    w.u64(0xd3, BigInt(v));
  } else if (v >= -32) w.byte(v & 0xff);
  else if (v >= -0x80) {
    w.byte(0xd0);
    w.byte(v & 0xff);
  } else if (v >= -0x8000) w.u16(0xd1, v & 0xffff);
  else w.u32(0xd2, v >>> 0);
}

/** Writes the header of a raw/str value of `n` bytes (fixstr, 0xda or 0xdb). */
function writeRawHeader(w: MsgpackWriter, n: number): void {
  if (n < 32) w.byte(0xa0 | n);
  else if (n < 0x10000) w.u16(0xda, n);
  else w.u32(0xdb, n);
}

function writeValue(w: MsgpackWriter, value: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new TypeError('encodeMsgpack: value nested too deeply');
  if (value === null || value === undefined) return w.byte(0xc0);
  switch (typeof value) {
    case 'boolean':
      return w.byte(value ? 0xc3 : 0xc2);
    case 'number':
      if (Number.isSafeInteger(value)) return writeInt(w, value);
      if (Number.isInteger(value) && value > 0 && value <= 2 ** 64 - 1) return writeUint(w, BigInt(value));
      return w.f64(value);
    case 'bigint':
      return writeInt(w, value);
    case 'string': {
      const bytes = Buffer.from(value, 'utf8');
      writeRawHeader(w, bytes.length);
      return w.bytes(bytes);
    }
    case 'object':
      break;
    default:
      throw new TypeError(`encodeMsgpack: cannot encode ${typeof value}`);
  }
  if (value instanceof Uint8Array) {
    writeRawHeader(w, value.length);
    return w.bytes(value);
  }
  if (Array.isArray(value)) {
    const n = value.length;
    if (n < 16) w.byte(0x90 | n);
    else if (n < 0x10000) w.u16(0xdc, n);
    else w.u32(0xdd, n);
    for (const item of value) writeValue(w, item, depth + 1);
    return;
  }
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  const n = entries.length;
  if (n < 16) w.byte(0x80 | n);
  else if (n < 0x10000) w.u16(0xde, n);
  else w.u32(0xdf, n);
  for (const [k, v] of entries) {
    writeValue(w, k, depth + 1);
    writeValue(w, v, depth + 1);
  }
}

/**
 * Encodes a value as go-msgpack writes it. Plain objects and Maps become
 * msgpack maps in their own key order; `Buffer`/`Uint8Array` and strings
 * become raw strings; `null`/`undefined` nil; integers the smallest form.
 */
export function encodeMsgpack(value: unknown): Buffer {
  const w = new MsgpackWriter();
  writeValue(w, value, 0);
  return w.result();
}

/** Encodes a sequence of key/value pairs as one map, in the order given. */
export function encodeMsgpackEntries(entries: ReadonlyArray<readonly [string, unknown]>): Buffer {
  const w = new MsgpackWriter();
  const n = entries.length;
  if (n < 16) w.byte(0x80 | n);
  else w.u16(0xde, n);
  for (const [k, v] of entries) {
    writeValue(w, k, 1);
    writeValue(w, v, 1);
  }
  return w.result();
}

/** Cursor over one buffer; all reads check bounds and throw TRUNCATED. */
class MsgpackReader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    /** Strings (the str/raw family, not bin) as JavaScript strings rather than Buffers. */
    private readonly text = false,
  ) {}

  need(n: number): void {
    if (this.pos + n > this.buf.length) wireError('TRUNCATED', `msgpack: need ${n} bytes at offset ${this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(signed: boolean): number | bigint {
    this.need(8);
    const v = signed ? this.buf.readBigInt64BE(this.pos) : this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  raw(n: number): Buffer {
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /** A str/raw-family value: a Buffer, or a string when decoding text. */
  str(n: number): Buffer | string {
    if (!this.text) return this.raw(n);
    this.need(n);
    const out = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  value(depth: number): MsgpackValue {
    const b = this.u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0xa0 && b <= 0xbf) return this.str(b & 0x1f);
    if (b >= 0x90 && b <= 0x9f) return this.array(b & 0x0f, depth);
    if (b >= 0x80 && b <= 0x8f) return this.map(b & 0x0f, depth);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.raw(this.u8());
      case 0xd9:
        return this.str(this.u8());
      case 0xc5:
        return this.raw(this.u16());
      case 0xda:
        return this.str(this.u16());
      case 0xc6:
        return this.raw(this.u32());
      case 0xdb:
        return this.str(this.u32());
      case 0xca: {
        this.need(4);
        const v = this.buf.readFloatBE(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xcb: {
        this.need(8);
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        return this.u64(false);
      case 0xd0:
        return (this.u8() << 24) >> 24;
      case 0xd1:
        return (this.u16() << 16) >> 16;
      case 0xd2:
        return this.u32() | 0;
      case 0xd3:
        return this.u64(true);
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      default:
        // 0xc1 (never used) and the ext family (0xc7–0xc9, 0xd4–0xd8).
        return wireError('BAD_MSGPACK', `msgpack: unsupported byte 0x${b.toString(16)} at offset ${this.pos - 1}`);
    }
  }

  private array(n: number, depth: number): MsgpackValue[] {
    if (depth >= MAX_DEPTH) wireError('BAD_MSGPACK', 'msgpack: nested too deeply');
    this.need(n); // every element takes at least one byte
    const out: MsgpackValue[] = new Array<MsgpackValue>(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  private map(n: number, depth: number): MsgpackMap {
    if (depth >= MAX_DEPTH) wireError('BAD_MSGPACK', 'msgpack: nested too deeply');
    this.need(2 * n); // every entry takes at least two bytes
    const out: MsgpackMap = Object.create(null) as MsgpackMap;
    for (let i = 0; i < n; i++) {
      const key = this.value(depth + 1);
      const value = this.value(depth + 1);
      out[Buffer.isBuffer(key) ? key.toString('utf8') : String(key)] = value;
    }
    return out;
  }
}

/**
 * Decodes one msgpack value starting at `offset`; returns it with the offset
 * just past it. Throws TRUNCATED when the value is incomplete (a stream reader
 * reads more and retries), BAD_MSGPACK for bytes that are not msgpack.
 */
export function decodeMsgpackAt(buf: Buffer, offset = 0, options: MsgpackDecodeOptions = {}): { value: MsgpackValue; end: number } {
  const reader = new MsgpackReader(buf, offset, options.text === true);
  try {
    const value = reader.value(0);
    return { value, end: reader.pos };
  } catch (err) {
    if (err instanceof GossipWireError) throw err;
    throw new GossipWireError('BAD_MSGPACK', `msgpack: ${(err as Error).message}`);
  }
}

/**
 * Decodes the first msgpack value of `buf` (trailing bytes are ignored, as
 * Go's decoder does). Strings and binaries come back as `Buffer`.
 */
export function decodeMsgpack(buf: Buffer, options: MsgpackDecodeOptions = {}): MsgpackValue {
  return decodeMsgpackAt(buf, 0, options).value;
}

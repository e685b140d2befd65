/**
 * LZW as Go's `compress/lzw` does it with `lzw.LSB` and literal width 8 —
 * the only compression memberlist uses (`compressPayload` in util.go).
 *
 * Code stream: a clear code (256) first, then codes of 9 bits growing to
 * 12, packed least-significant bit first; the dictionary is reset with a
 * clear code when code 4095 would be assigned; EOF (257) ends the stream and
 * the last partial byte is flushed. The encoder emits exactly Go's bytes; the
 * decoder accepts what Go's reader accepts and refuses the rest with
 * BAD_COMPRESSION (or TOO_LARGE past `maxOutput`).
 */
import { wireError } from './errors.js';

const LIT_WIDTH = 8;
const CLEAR = 1 << LIT_WIDTH; // 256
const EOF_CODE = CLEAR + 1; // 257
const MAX_WIDTH = 12;
const MAX_CODE = (1 << MAX_WIDTH) - 1; // 4095
/** Open-addressed dictionary: 4 × 4096 slots, entry = key << 12 | code. */
const TABLE_SIZE = 4 * (1 << MAX_WIDTH);
const TABLE_MASK = TABLE_SIZE - 1;

/** Growable byte output shared by encoder and decoder. */
class ByteSink {
  buf: Buffer;
  len = 0;
  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initial));
  }
  grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/**
 * Encoder dictionary, reused by every call (calls never overlap: they are
 * synchronous). A slot is live only when its stamp equals the current
 * generation, so a reset is one increment instead of clearing 64 KiB.
 */
const table = new Uint32Array(TABLE_SIZE);
const stamps = new Uint32Array(TABLE_SIZE);
let generation = 0;

/** Empties the encoder dictionary. */
function resetTable(): void {
  generation = (generation + 1) >>> 0;
  if (generation === 0) {
    stamps.fill(0);
    generation = 1;
  }
}
/** Decoder dictionary and expansion scratch, reused likewise. */
const prefix = new Uint16Array(1 << MAX_WIDTH);
const suffix = new Uint8Array(1 << MAX_WIDTH);
const scratch = new Uint8Array(1 << MAX_WIDTH);

/** Compresses `input` exactly as Go's lzw.NewWriter(w, lzw.LSB, 8) + Write + Close. */
export function lzwCompress(input: Uint8Array): Buffer {
  const out = new ByteSink(input.length / 2 + 8);
  let bits = 0;
  let nBits = 0;
  let width = LIT_WIDTH + 1;
  let hi = EOF_CODE;
  let overflow = 1 << (LIT_WIDTH + 1);
  resetTable();

  const emit = (code: number): void => {
    bits |= code << nBits;
    nBits += width;
    out.grow(2);
    while (nBits >= 8) {
      out.buf[out.len++] = bits & 0xff;
      bits >>>= 8;
      nBits -= 8;
    }
  };
  /** Go's incHi: next implied code; true when the dictionary was just reset. */
  const incHi = (): boolean => {
    hi++;
    if (hi === overflow) {
      width++;
      overflow <<= 1;
    }
    if (hi === MAX_CODE) {
      emit(CLEAR);
      width = LIT_WIDTH + 1;
      hi = EOF_CODE;
      overflow = CLEAR << 1;
      resetTable();
      return true;
    }
    return false;
  };

  emit(CLEAR);
  if (input.length === 0) {
    emit(EOF_CODE);
  } else {
    let code = input[0]!;
    outer: for (let i = 1; i < input.length; i++) {
      const literal = input[i]!;
      const key = (code << 8) | literal;
      let hash = ((key >>> 12) ^ key) & TABLE_MASK;
      for (let h = hash; stamps[h] === generation; h = (h + 1) & TABLE_MASK) {
        const t = table[h]!;
        if (key === t >>> 12) {
          code = t & MAX_CODE;
          continue outer;
        }
      }
      emit(code);
      code = literal;
      if (incHi()) continue;
      while (stamps[hash] === generation) hash = (hash + 1) & TABLE_MASK;
      stamps[hash] = generation;
      table[hash] = ((key << 12) | hi) >>> 0;
    }
    emit(code);
    incHi();
    emit(EOF_CODE);
  }
  if (nBits > 0) {
    out.grow(1);
    out.buf[out.len++] = bits & 0xff;
  }
  return out.result();
}

/**
 * Decompresses a Go LSB/8 LZW stream. Refuses a stream without an EOF code
 * or with an invalid code (BAD_COMPRESSION), and output beyond `maxOutput`
 * bytes (TOO_LARGE). Bytes after the EOF code are ignored, as Go does.
 */
export function lzwDecompress(input: Uint8Array, maxOutput: number): Buffer {
  const out = new ByteSink(input.length * 3);
  let bits = 0;
  let nBits = 0;
  let pos = 0;
  let width = LIT_WIDTH + 1;
  let hi = EOF_CODE;
  let overflow = 1 << width;
  let last = -1; // no previous code

  for (;;) {
    while (nBits < width) {
      if (pos >= input.length) wireError('BAD_COMPRESSION', 'lzw: stream ended without an EOF code');
      bits |= input[pos++]! << nBits;
      nBits += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    nBits -= width;

    if (code < CLEAR) {
      out.grow(1);
      out.buf[out.len++] = code;
      if (last !== -1) {
        suffix[hi] = code;
        prefix[hi] = last;
      }
    } else if (code === CLEAR) {
      width = LIT_WIDTH + 1;
      hi = EOF_CODE;
      overflow = 1 << width;
      last = -1;
      continue;
    } else if (code === EOF_CODE) {
      return out.result();
    } else if (code <= hi) {
      // Expand `code` backwards into scratch; code === hi is the KwKwK case.
      let i = scratch.length - 1;
      let c = code;
      if (code === hi && last !== -1) {
        c = last;
        while (c >= CLEAR) c = prefix[c]!;
        suffix[hi] = c;
        prefix[hi] = last;
        scratch[i--] = c;
        c = last;
      }
      while (c >= CLEAR) {
        scratch[i--] = suffix[c]!;
        c = prefix[c]!;
      }
      scratch[i] = c;
      const n = scratch.length - i;
      out.grow(n);
      out.buf.set(scratch.subarray(i), out.len);
      out.len += n;
      if (last !== -1) {
        suffix[hi] = scratch[i]!;
        prefix[hi] = last;
      }
    } else {
      wireError('BAD_COMPRESSION', 'lzw: invalid code');
    }
    if (out.len > maxOutput) wireError('TOO_LARGE', `lzw: output exceeds ${maxOutput} bytes`);
    last = code;
    hi++;
    if (hi >= overflow) {
      if (width === MAX_WIDTH) {
        last = -1;
        hi--;
      } else {
        width++;
        overflow = 1 << width;
      }
    }
  }
}

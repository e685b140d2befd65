/**
 * The canonical encoding everything signed is signed over: JSON with the keys
 * of every object sorted, no white space, absent and null fields left out.
 * Two agents that hold the same values produce the same bytes, whatever order
 * the fields arrived in (msgpack from gossip, JSON from a file) — so a
 * signature survives relaying by agents of any version.
 *
 * Only what entries and certificates hold is allowed: strings, booleans,
 * safe integers, arrays and plain objects. Anything else (floats, Buffers,
 * functions) is an IdentityError, never silently dropped.
 */
import { IdentityError } from './errors.js';

/** Most nesting accepted (entries nest three levels; garbage may nest deeper). */
const MAX_DEPTH = 16;

export function canonicalJson(value: unknown): string {
  return encode(value, 0);
}

/** The bytes to sign: a purpose label (domain separation), a newline, the canonical encoding. */
export function signedBytes(purpose: string, value: unknown): Uint8Array {
  return new TextEncoder().encode(`${purpose}\n${canonicalJson(value)}`);
}

/** Whether `v` is base64 of exactly `bytes` bytes in its one canonical spelling (Buffer.from skips stray characters). */
export function isCanonicalBase64(v: unknown, bytes: number): v is string {
  if (typeof v !== 'string' || v.length > 4 * Math.ceil(bytes / 3)) return false;
  const b = Buffer.from(v, 'base64');
  return b.length === bytes && b.toString('base64') === v;
}

function encode(v: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new IdentityError('BAD_ENCODING', 'nested too deep');
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new IdentityError('BAD_ENCODING', `not a safe integer: ${v}`);
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map((x) => encode(x ?? null, depth + 1)).join(',')}]`;
  if (v === null) return 'null';
  if (typeof v === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(v))) {
    const fields = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined && x !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => `${JSON.stringify(k)}:${encode(x, depth + 1)}`);
    return `{${fields.join(',')}}`;
  }
  throw new IdentityError('BAD_ENCODING', `cannot encode a ${typeof v === 'object' ? 'non-plain object' : typeof v}`);
}

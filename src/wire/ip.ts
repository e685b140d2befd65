/**
 * IP address text ⇄ bytes, written out here so that wire/ depends on nothing
 * (and so the formatting is exactly RFC 5952, whatever the Node version).
 */
import { WireError } from './errors.js';

const V4_PART = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses a dotted quad into `out` at `at`; false if `s` is not one. */
function parseV4Into(s: string, out: Buffer, at: number): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    if (!V4_PART.test(parts[i])) return false; // no leading zeros: "010" is ambiguous (octal in inet_aton)
    const v = Number(parts[i]);
    if (v > 255) return false;
    out[at + i] = v;
  }
  return true;
}

/** Parses `s` as IPv6 (every RFC 4291 text form, no zone id) into 16 bytes, or null. */
function parseV6(s: string): Buffer | null {
  if (s.length < 2 || s.length > 45) return null;
  const out = Buffer.alloc(16);
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (text: string): string[] => (text === '' ? [] : text.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  // An embedded IPv4 address may only be the last element.
  const all = halves.length === 2 ? tail : head;
  let v4Words = 0;
  const last = all[all.length - 1];
  if (last !== undefined && last.includes('.')) {
    if (!parseV4Into(last, out, 12)) return null;
    all.pop();
    v4Words = 2;
  }
  const words = head.length + tail.length + v4Words;
  if (halves.length === 1 ? words !== 8 : words > 7) return null;
  for (const g of head) if (!HEX_GROUP.test(g)) return null;
  for (const g of tail) if (!HEX_GROUP.test(g)) return null;
  head.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  const tailStart = 8 - v4Words - tail.length;
  tail.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), (tailStart + i) * 2));
  return out;
}

/**
 * Parses an IPv4 dotted quad (4 bytes) or an IPv6 address in any RFC 4291
 * text form — "::", "2001:db8::1", "::ffff:198.18.0.1", full 8 groups — into
 * a new Buffer of 4 or 16 bytes. Zone ids ("%eth0") and prefixes are refused.
 * @throws WireError BAD_VALUE
 */
export function parseIp(s: string): Buffer {
  if (typeof s === 'string') {
    if (s.includes(':')) {
      const v6 = parseV6(s);
      if (v6) return v6;
    } else {
      const v4 = Buffer.allocUnsafe(4);
      if (parseV4Into(s, v4, 0)) return v4;
    }
  }
  throw new WireError('BAD_VALUE', `not an IP address: ${JSON.stringify(s)}`);
}

/** 4 or 6 for a valid IPv4 / IPv6 address text, 0 otherwise. Never throws. */
export function ipFamily(s: string): 4 | 6 | 0 {
  try {
    return parseIp(s).length === 4 ? 4 : 6;
  } catch {
    return 0;
  }
}

/**
 * Formats 4 bytes as a dotted quad, or 16 bytes as RFC 5952 text: lower case,
 * no leading zeros, the longest run (first on a tie) of two or more zero
 * groups as "::", and IPv4-mapped addresses as "::ffff:a.b.c.d".
 * @throws WireError BAD_LENGTH for any other length
 */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new WireError('BAD_LENGTH', `IP address must be 4 or 16 bytes, got ${b.length}`);
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push((b[i] << 8) | b[i + 1]);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/**
 * Subnets of overlay networks: parsing, containment, overlap and address
 * allocation, for IPv4 and IPv6 alike (addresses as BigInt).
 */
import { formatIp, ipFamily, parseIp } from '../wire/index.js';

export class CidrError extends Error {
  readonly code = 'BAD_CIDR';
}

export interface Cidr {
  family: 4 | 6;
  /** Network address (host bits cleared). */
  base: bigint;
  prefix: number;
  /** Canonical text, e.g. "198.19.1.0/24". */
  text: string;
}

const bits = (family: 4 | 6): number => (family === 4 ? 32 : 128);

export function ipToBigInt(ip: string): bigint {
  let n = 0n;
  for (const b of parseIp(ip)) n = (n << 8n) | BigInt(b);
  return n;
}

export function bigIntToIp(n: bigint, family: 4 | 6): string {
  const len = family === 4 ? 4 : 16;
  const out = Buffer.alloc(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return formatIp(out);
}

export function parseCidr(text: string): Cidr {
  const m = /^([0-9a-fA-F.:]+)\/(\d{1,3})$/.exec(text.trim());
  const family = m ? ipFamily(m[1]) : 0;
  if (!m || family === 0) throw new CidrError(`invalid subnet "${text}": expected ADDRESS/PREFIX`);
  const prefix = Number(m[2]);
  const width = bits(family);
  if (prefix > width || prefix < 1) throw new CidrError(`invalid subnet "${text}": prefix must be 1..${width}`);
  if (width - prefix < 2) throw new CidrError(`subnet "${text}" is too small for endpoints`);
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  const base = ipToBigInt(m[1]) & ~hostMask;
  return { family, base, prefix, text: `${bigIntToIp(base, family)}/${prefix}` };
}

const size = (c: Cidr): bigint => 1n << BigInt(bits(c.family) - c.prefix);

export function cidrContains(c: Cidr, ip: string): boolean {
  if (ipFamily(ip) !== c.family) return false;
  const n = ipToBigInt(ip);
  return n >= c.base && n < c.base + size(c);
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** Whether `ip` is a usable endpoint address of `c` (not the network or IPv4 broadcast address). */
export function isHostAddress(c: Cidr, ip: string): boolean {
  if (!cidrContains(c, ip)) return false;
  const n = ipToBigInt(ip);
  if (n === c.base) return false;
  return !(c.family === 4 && n === c.base + size(c) - 1n);
}

/** The lowest usable address of `c` not in `used` (canonical text forms), or undefined when full. */
export function allocateAddress(c: Cidr, used: Set<string>, limit = 1n << 20n): string | undefined {
  const last = c.base + size(c) - (c.family === 4 ? 1n : 0n);
  for (let n = c.base + 1n, tried = 0n; n < last && tried < limit; n++, tried++) {
    const ip = bigIntToIp(n, c.family);
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/** Docker's endpoint MAC: 02:42 followed by the four bytes of the IPv4 address (or the last four of IPv6). */
export function endpointMac(ip: string): string {
  const b = parseIp(ip);
  const tail = b.subarray(b.length - 4);
  return ['02', '42', ...[...tail].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

/**
 * CIDR prefixes for IPv4 and IPv6 alike (addresses as BigInt): parsing,
 * containment, overlap, host addresses and allocation. The one CIDR module:
 * gossip's `cidrsAllowed` and the overlay's subnets both use it.
 */
import { formatIp, ipFamily, parseIp } from './ip.js';

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

const CIDR_TEXT = /^([0-9a-fA-F.:]+)(?:\/(\d{1,3}))?$/;

const bits = (family: 4 | 6): number => (family === 4 ? 32 : 128);
const size = (c: Cidr): bigint => 1n << BigInt(bits(c.family) - c.prefix);

export function ipToBigInt(ip: string | Uint8Array): bigint {
  let n = 0n;
  for (const b of typeof ip === 'string' ? parseIp(ip) : ip) n = (n << 8n) | BigInt(b);
  return n;
}

/** The first host address of a subnet (what Docker's IPAM reports as a network's gateway). */
export function firstHost(c: Cidr): string {
  return bigIntToIp(c.base + 1n, c.family);
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

function cidrOf(family: 4 | 6, addr: string, prefix: number): Cidr {
  const hostMask = (1n << BigInt(bits(family) - prefix)) - 1n;
  const base = ipToBigInt(addr) & ~hostMask;
  return { family, base, prefix, text: `${bigIntToIp(base, family)}/${prefix}` };
}

/** A prefix "ADDRESS/N" (N from 0 to the address width) or a bare address (the whole width); undefined when invalid. */
export function parsePrefix(text: string): Cidr | undefined {
  const m = CIDR_TEXT.exec(text.trim());
  const family = m ? ipFamily(m[1]) : 0;
  if (!m || family === 0) return undefined;
  const prefix = m[2] === undefined ? bits(family) : Number(m[2]);
  if (prefix > bits(family)) return undefined;
  return cidrOf(family, m[1], prefix);
}

/**
 * An overlay subnet "ADDRESS/PREFIX": a prefix of at least 1 with room for
 * endpoints (two host bits or more). Throws {@link CidrError} saying why not.
 */
export function parseCidr(text: string): Cidr {
  const m = CIDR_TEXT.exec(text.trim());
  const family = m ? ipFamily(m[1]) : 0;
  if (!m || m[2] === undefined || family === 0) throw new CidrError(`invalid subnet "${text}": expected ADDRESS/PREFIX`);
  const prefix = Number(m[2]);
  const width = bits(family);
  if (prefix > width || prefix < 1) throw new CidrError(`invalid subnet "${text}": prefix must be 1..${width}`);
  if (width - prefix < 2) throw new CidrError(`subnet "${text}" is too small for endpoints`);
  return cidrOf(family, m[1], prefix);
}

/** Whether `ip` (text, or raw 4 or 16 bytes) lies in `c`. */
export function cidrContains(c: Cidr, ip: string | Uint8Array): boolean {
  const family = typeof ip === 'string' ? ipFamily(ip) : ip.length === 4 ? 4 : ip.length === 16 ? 6 : 0;
  if (family !== c.family) return false;
  const n = ipToBigInt(ip);
  return n >= c.base && n < c.base + size(c);
}

/** Whether the raw address `addr` lies in the prefix `text` ({@link parsePrefix}); false when `text` is not one. */
export function prefixContains(text: string, addr: Uint8Array): boolean {
  const c = parsePrefix(text);
  return c !== undefined && cidrContains(c, addr);
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

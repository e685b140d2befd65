/**
 * How an endpoint's address is chosen, whoever asks (overlayctl, Docker's
 * IPAM, CNI). There is no central allocator: every agent allocates from what
 * it knows, and a claim made twice is settled later in favour of the earlier
 * one (reconcile.ts). Two things keep that from happening in practice:
 *
 * - Stripes. Two hosts allocating at the same moment cannot see each other's
 *   claim yet. So each of the N live members, sorted by name, allocates first
 *   from its own stripe of the subnet — host offsets ≡ its rank (mod N) — and
 *   only when its stripe is full from the rest. While membership is stable two
 *   hosts never pick the same address, however fast they attach. (Before,
 *   every host took the lowest free address, so concurrent attaches on two
 *   hosts clashed, and the loser was re-addressed under its container's feet:
 *   the "taken address" and the EADDRNOTAVAIL seen by quick successive attaches.)
 * - Reservations. Docker asks its IPAM for an address (RequestAddress) before
 *   it creates the endpoint; until then the address is held here, so a second
 *   request in between does not get it again. Reservations are this host's
 *   only (never gossiped) and expire if never used.
 */
import { allocateAddress, bigIntToIp, cidrContains, cidrOverlaps, formatIp, ipFamily, ipToBigInt, isHostAddress, parseCidr, parseIp, type Cidr } from '../wire/index.js';
import type { NetworkEntry } from './entries.js';
import { OverlayError } from './errors.js';

/** How long a reservation nobody turns into an endpoint is held (Docker creates the endpoint right after). */
export const RESERVATION_TTL_MS = 5 * 60_000;

/** Tries at most this many addresses of a stripe (IPv6 subnets are vast). */
const STRIPE_LIMIT = 1 << 20;

/**
 * The lowest free address of `c` in stripe `stripe` of `stripes` (host offset
 * − 1 ≡ stripe mod stripes), or else the lowest free address at all; undefined
 * when the subnet is full.
 */
export function allocateStriped(c: Cidr, used: Set<string>, stripe: number, stripes: number): string | undefined {
  if (stripes > 1) {
    const hostBits = BigInt((c.family === 4 ? 32 : 128) - c.prefix);
    const last = c.base + (1n << hostBits) - (c.family === 4 ? 1n : 0n);
    let n = c.base + 1n + BigInt(stripe);
    for (let tried = 0; n < last && tried < STRIPE_LIMIT; n += BigInt(stripes), tried++) {
      const ip = bigIntToIp(n, c.family);
      if (!used.has(ip)) return ip;
    }
  }
  return allocateAddress(c, used);
}

/** This node's stripe: its rank among the live members (itself included), by name. */
export function stripeOf(self: string, liveMembers: string[]): { stripe: number; stripes: number } {
  const names = [...new Set([self, ...liveMembers])].sort();
  return { stripe: names.indexOf(self), stripes: names.length };
}


/** Whether `ip` is the first host address of `c`. */
export const isFirstHost = (c: Cidr, ip: string): boolean => ipToBigInt(ip) === c.base + 1n;

/** Addresses held on this host for an endpoint that does not exist yet, by network. */
export class AddressReservations {
  private readonly held = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Holds `ip` on `network` for `ttlMs` (Infinity: until released). */
  reserve(network: string, ip: string, ttlMs = RESERVATION_TTL_MS): void {
    let m = this.held.get(network);
    if (!m) this.held.set(network, (m = new Map()));
    m.set(ip, this.now() + ttlMs);
  }

  /** Lets `ip` go; true when it was held. */
  release(network: string, ip: string): boolean {
    const m = this.held.get(network);
    const had = m?.delete(ip) ?? false;
    if (m && m.size === 0) this.held.delete(network);
    return had;
  }

  /** Whether `ip` is held (and not expired) on `network`. */
  holds(network: string, ip: string): boolean {
    const until = this.held.get(network)?.get(ip);
    return until !== undefined && until > this.now();
  }

  /** The addresses held on `network`; expired ones are dropped. */
  of(network: string): string[] {
    const m = this.held.get(network);
    if (!m) return [];
    const t = this.now();
    for (const [ip, until] of m) if (until <= t) m.delete(ip);
    return [...m.keys()];
  }

  /** Forgets every reservation of a removed network. */
  dropNetwork(network: string): void {
    this.held.delete(network);
  }
}

/** Canonical text of an IP address, or a BAD_REQUEST naming the bad input. */
export function canonicalIp(text: string): string {
  try {
    return formatIp(parseIp(text));
  } catch {
    throw new OverlayError('BAD_REQUEST', `invalid IP address "${text}"`);
  }
}

/**
 * The addresses a request names for an endpoint on `net`, checked: canonical,
 * a host address of one of its subnets, not in `used` (unless `ownReservation`
 * says this request holds it), at most one per family.
 */
export function requestedAddresses(net: NetworkEntry, used: Set<string>, raw: readonly string[], ownReservation: (ip: string) => boolean): string[] {
  const ips: string[] = [];
  for (const text of raw) {
    const ip = canonicalIp(text);
    const cidr = net.subnets.map(parseCidr).find((c) => c.family === ipFamily(ip));
    if (!cidr || !isHostAddress(cidr, ip)) {
      throw new OverlayError('IP_OUTSIDE_SUBNET', `${ip} is not a usable address of network ${net.name} (${net.subnets.join(', ')})`);
    }
    if ((used.has(ip) && !ownReservation(ip)) || ips.includes(ip)) throw new OverlayError('IP_IN_USE', `${ip} is already in use on network ${net.name}`);
    if (ips.some((x) => ipFamily(x) === cidr.family)) throw new OverlayError('BAD_REQUEST', 'one address per family');
    ips.push(ip);
  }
  return ips;
}

/**
 * `net` as a node whose certificate limits it to `ranges` may allocate from
 * (docs/identity.md): each subnet narrowed to the range inside it, families
 * without one left out. Refuses `given` addresses outside the ranges, and a
 * network the ranges do not touch at all.
 */
export function withinRanges(net: NetworkEntry, ranges: readonly string[], given: readonly string[]): NetworkEntry {
  const cidrs = ranges.map(parseCidr);
  const outside = given.find((ip) => !cidrs.some((c) => cidrContains(c, ip)));
  if (outside) throw new OverlayError('IP_OUTSIDE_SUBNET', `${outside} is outside this node's certificate (${ranges.join(', ')}): other nodes would refuse it`);
  const subnets = net.subnets.map(parseCidr).flatMap((s) => {
    const r = cidrs.find((c) => c.family === s.family && cidrOverlaps(c, s));
    return r ? [r.prefix >= s.prefix ? r.text : s.text] : [];
  });
  if (subnets.length === 0) throw new OverlayError('FORBIDDEN', `this node's certificate allows no address of network ${net.name} (${net.subnets.join(', ')}), only ${ranges.join(', ')}`);
  return { ...net, subnets };
}

/** `given` plus an address allocated in `stripe` for each family of `net` it lacks, IPv4 first. */
export function completeAddresses(net: NetworkEntry, used: Set<string>, given: readonly string[], stripe: { stripe: number; stripes: number }): string[] {
  const ips = [...given];
  for (const cidr of net.subnets.map(parseCidr)) {
    if (ips.some((x) => ipFamily(x) === cidr.family)) continue;
    const ip = allocateStriped(cidr, used, stripe.stripe, stripe.stripes);
    if (!ip) throw new OverlayError('SUBNET_FULL', `no free address left in ${cidr.text}`);
    ips.push(ip);
  }
  return ips.sort((a, b) => ipFamily(a) - ipFamily(b));
}

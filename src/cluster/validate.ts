/**
 * Checks an entry that arrived over gossip before it may touch the tables.
 * Each refusal has a stable reason, counted in `overlayctl stats`.
 */
import { canonicalGroup, formatMac, ipFamily, isSnoopedGroup, parseMac } from '../wire/index.js';
import { isHostAddress, parseCidr } from '../wire/index.js';
import { ENDPOINT_RUNTIMES, MAX_GROUP_ENDPOINTS, type EndpointEntry, type Entry, type GroupEntry, type NetworkEntry } from './entries.js';
import { wellFormedEncryption } from './network-keys.js';
import { MAX_MULTICAST_RATE } from '../dataplane/multicast/settings.js';
import { IDENTITY_REASONS } from './signed-entries.js';

export const REJECT_REASONS = ['malformed', 'bad_mac', 'bad_ip', 'ip_outside_subnet', 'unknown_network', 'vni_collision', 'vtep_mismatch', 'owner_left', ...IDENTITY_REASONS] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
const isUint = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

/** Shape checks: every field present with the right type. */
export function wellFormed(e: unknown): e is Entry {
  const x = e as Record<string, unknown>;
  if (typeof x !== 'object' || x === null) return false;
  if (!isStr(x.owner) || !isUint(x.ltime, Number.MAX_SAFE_INTEGER) || !isUint(x.created, Number.MAX_SAFE_INTEGER) || typeof x.deleted !== 'boolean') return false;
  if (x.kind === 'network') {
    const fields = isStr(x.name) && isStr(x.id) && isUint(x.vni, 0xffffff) && Array.isArray(x.subnets) && x.subnets.every(isStr) && isUint(x.mtu, 65535) && typeof x.encrypted === 'boolean';
    // A live encrypted network carries its keys; a plain one none; a tombstone may drop them.
    if (!fields || !wellFormedMulticast(x.multicast)) return false;
    if (x.encryption === undefined) return !x.encrypted || x.deleted === true;
    return x.encrypted === true && wellFormedEncryption(x.encryption);
  }
  if (x.kind === 'endpoint') {
    return isStr(x.id) && isStr(x.network) && isStr(x.networkId) && Array.isArray(x.ips) && x.ips.length > 0 && x.ips.length <= 2 && x.ips.every(isStr) && isStr(x.mac) && isStr(x.vtep) && isStr(x.ifname) && typeof x.netns === 'string' &&
      (x.runtime === undefined || ENDPOINT_RUNTIMES.includes(x.runtime as EndpointEntry['runtime'] & string)) &&
      (x.container === undefined || (typeof x.container === 'string' && x.container.length <= 256));
  }
  if (x.kind === 'group') {
    return isStr(x.network) && isStr(x.networkId) && isStr(x.group) && isStr(x.vtep) && Array.isArray(x.endpoints) && x.endpoints.length <= MAX_GROUP_ENDPOINTS && x.endpoints.every(isStr);
  }
  return false;
}

/** A network's multicast setting: absent, or `{ rate }` with a whole number of frames/s. */
const wellFormedMulticast = (m: unknown): boolean =>
  m === undefined || (typeof m === 'object' && m !== null && !Array.isArray(m) && Object.keys(m).length === 1 && isUint((m as { rate?: unknown }).rate, MAX_MULTICAST_RATE));


export interface ValidationContext {
  network(name: string): NetworkEntry | undefined;
  /** The advertised address of a member, if it is known. */
  memberAddr(node: string): string | undefined;
}

/** Content checks of a well-formed endpoint; undefined when it may be stored. */
export function checkEndpoint(e: EndpointEntry, ctx: ValidationContext): RejectReason | undefined {
  if (e.deleted) return undefined;
  try {
    const mac = parseMac(e.mac);
    if (mac[0] & 1 || formatMac(mac) !== e.mac) return 'bad_mac';
  } catch {
    return 'bad_mac';
  }
  if (e.ips.some((ip) => ipFamily(ip) === 0) || ipFamily(e.vtep) === 0) return 'bad_ip';
  const net = ctx.network(e.network);
  if (!net) return 'unknown_network';
  const cidrs = net.subnets.map(parseCidr);
  for (const ip of e.ips) {
    const c = cidrs.find((x) => x.family === ipFamily(ip));
    if (!c || !isHostAddress(c, ip)) return 'ip_outside_subnet';
  }
  const addr = ctx.memberAddr(e.owner);
  if (addr !== undefined && addr !== e.vtep) return 'vtep_mismatch';
  return undefined;
}

/**
 * Content checks of a well-formed group entry; undefined when it may be
 * stored. The group is a multicast address the data path replicates by
 * membership (not link-local, not solicited-node), in canonical form, on a
 * known network that has multicast on, at the owner's address. A tombstone
 * passes (it only takes the group away).
 */
export function checkGroup(e: GroupEntry, ctx: ValidationContext): RejectReason | undefined {
  if (e.deleted) return undefined;
  if (ipFamily(e.vtep) === 0) return 'bad_ip';
  try {
    if (canonicalGroup(e.group) !== e.group || !isSnoopedGroup(e.group)) return 'bad_ip';
  } catch {
    return 'bad_ip';
  }
  const net = ctx.network(e.network);
  if (!net || net.id !== e.networkId || !net.multicast) return 'unknown_network';
  const addr = ctx.memberAddr(e.owner);
  if (addr !== undefined && addr !== e.vtep) return 'vtep_mismatch';
  return undefined;
}

/** Content checks of a well-formed network; undefined when it may be stored. */
export function checkNetwork(n: NetworkEntry): RejectReason | undefined {
  if (n.deleted) return undefined;
  if (n.vni < 1) return 'malformed';
  try {
    const families = n.subnets.map((s) => parseCidr(s).family);
    if (families.length === 0 || new Set(families).size !== families.length) return 'malformed';
  } catch {
    return 'malformed';
  }
  return undefined;
}

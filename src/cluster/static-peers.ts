/**
 * Checks of a static peer (`overlayctl peer add`): a remote endpoint behind a
 * host without an agent — a kernel `vxlan` device, say — entered by hand and
 * never gossiped. On a multicast network it may name the groups it receives
 * (`--group`); broadcast and link-local groups reach it anyway, as a VTEP of
 * the network (docs/multicast.md "Who gets a frame").
 */
import { canonicalGroup, formatMac, ipFamily, isHostAddress, isSnoopedGroup, parseCidr, parseMac } from '../wire/index.js';
import { canonicalIp } from './addresses.js';
import type { EndpointEntry, Entry, NetworkEntry } from './entries.js';
import { OverlayError } from './errors.js';
import type { PeerRecord } from './records.js';

/** What the check reads of the store (store.ts; its methods of the same names). */
export interface PeerContext {
  network(name: string): NetworkEntry;
  usedAddresses(network: string): Set<string>;
  readonly peers: ReadonlyMap<string, PeerRecord>;
  allEntries(): Entry[];
}

/** The most groups one static peer may list. */
export const MAX_PEER_GROUPS = 64;

/** `req` checked against what `store` holds, canonical; throws OverlayError. */
export function preparePeer(store: PeerContext, req: PeerRecord): PeerRecord {
  const net = store.network(req.network);
  const ip = canonicalIp(req.ip);
  const vtep = canonicalIp(req.vtep);
  let mac: string;
  try {
    mac = formatMac(parseMac(req.mac));
  } catch {
    throw new OverlayError('BAD_REQUEST', `invalid MAC address "${req.mac}"`);
  }
  if (parseMac(mac)[0] & 1) throw new OverlayError('BAD_REQUEST', `${mac} is a group address, not an endpoint MAC`);
  const cidr = net.subnets.map(parseCidr).find((c) => c.family === ipFamily(ip));
  if (!cidr || !isHostAddress(cidr, ip)) throw new OverlayError('IP_OUTSIDE_SUBNET', `${ip} is not a usable address of network ${net.name}`);
  if (store.usedAddresses(net.name).has(ip)) throw new OverlayError('IP_IN_USE', `${ip} is already in use on network ${net.name}`);
  for (const p of store.peers.values()) {
    if (p.network === net.name && p.mac === mac && p.vtep !== vtep) {
      throw new OverlayError('MAC_CONFLICT', `${mac} is already behind VTEP ${p.vtep} on network ${net.name}`);
    }
  }
  const holder = store.allEntries().find((e): e is EndpointEntry => e.kind === 'endpoint' && !e.deleted && e.network === net.name && e.mac === mac);
  if (holder) throw new OverlayError('MAC_CONFLICT', `${mac} belongs to endpoint ${holder.id.slice(0, 12)} on ${holder.owner}`);
  const groups = peerGroups(net, req.groups);
  return { network: net.name, ip, mac, vtep, ...(groups && { groups }) };
}

/**
 * The groups a static peer receives, canonical, sorted, without repeats
 * (undefined when none are given). Refused: groups on a network without
 * multicast, addresses that are no group, link-local and solicited-node groups.
 */
export function peerGroups(net: NetworkEntry, given: string[] | undefined): string[] | undefined {
  if (given === undefined || given.length === 0) return undefined;
  if (!net.multicast) throw new OverlayError('BAD_REQUEST', `network ${net.name} was not created with --multicast: its peers get no groups`);
  if (given.length > MAX_PEER_GROUPS) throw new OverlayError('BAD_REQUEST', `at most ${MAX_PEER_GROUPS} groups per static peer`);
  const groups = given.map((g) => {
    let group: string;
    try {
      group = canonicalGroup(g);
    } catch {
      throw new OverlayError('BAD_REQUEST', `--group ${g} is not a multicast group address`);
    }
    if (!isSnoopedGroup(group)) {
      throw new OverlayError('BAD_REQUEST', `--group ${g} is a link-local group: every VTEP of the network gets it anyway`);
    }
    return group;
  });
  return [...new Set(groups)].sort();
}

/**
 * The data path's group table of a multicast network (datapath.ts `groupSet`,
 * rule 5 of MulticastSettings): group MAC → the VTEPs that want frames for
 * it. A VTEP is in a MAC's list when a remote host has a live group entry
 * for a group mapping to that MAC (several groups share one MAC: 32 of every
 * IPv4 group's bits fit in 23), or a static peer was configured for such a
 * group. Link-local groups are never listed: the data path floods them (rule 3).
 */
import type { GroupEntry, NetworkEntry } from '../cluster/entries.js';
import type { PeerRecord } from '../cluster/records.js';
import { formatMac, groupMac } from '../wire/index.js';

/** The table `net` should hold on host `self`: MAC → VTEPs, sorted. */
export function groupTable(net: NetworkEntry, groups: GroupEntry[], peers: Iterable<PeerRecord>, self: string): Map<string, string[]> {
  const want = new Map<string, Set<string>>();
  const add = (group: string, vtep: string): void => {
    const mac = formatMac(groupMac(group));
    const set = want.get(mac) ?? new Set<string>();
    want.set(mac, set.add(vtep));
  };
  for (const g of groups) if (g.network === net.name && g.owner !== self && !g.deleted) add(g.group, g.vtep);
  for (const p of peers) if (p.network === net.name) for (const group of p.groups ?? []) add(group, p.vtep);
  return new Map([...want].map(([mac, vteps]) => [mac, [...vteps].sort()]));
}

/** Applies `want` over `have` with `set` (an empty list removes a MAC), changing only what differs. */
export function applyGroupTable(have: Map<string, string[]>, want: Map<string, string[]>, set: (mac: string, vteps: string[]) => void): void {
  for (const mac of have.keys()) if (!want.has(mac)) set(mac, []);
  for (const [mac, vteps] of want) if (have.get(mac)?.join() !== vteps.join()) set(mac, vteps);
}

/**
 * Multicast in `overlayctl trace`: the destination MAC a sender uses for a
 * group or broadcast address (no neighbour entry is involved), and the
 * replication list of a traced group frame with the nodes behind each VTEP.
 */
import type { NetworkEntry } from '../cluster/entries.js';
import type { OverlayStore } from '../cluster/store.js';
import { BROADCAST_MAC, formatMac, groupMac, ipToBigInt, isMulticastIp, parseCidr } from '../wire/index.js';

/** The MAC a frame to `dst` goes to without address resolution: a group's MAC, or broadcast for 255.255.255.255 and the subnet's broadcast address; else undefined. */
export function groupDestinationMac(net: NetworkEntry, dst: string): string | undefined {
  if (isMulticastIp(dst)) return formatMac(groupMac(dst));
  if (dst === '255.255.255.255') return formatMac(BROADCAST_MAC);
  const v4 = net.subnets.map(parseCidr).find((c) => c.family === 4);
  if (v4 && !dst.includes(':') && ipToBigInt(dst) === v4.base + (1n << BigInt(32 - v4.prefix)) - 1n) return formatMac(BROADCAST_MAC);
  return undefined;
}

/** One copy of a replicated frame: its VTEP, and the node there (null: a static peer or unknown). */
export interface ReplicationCopy {
  vtep: string;
  node: string | null;
}

/** The copies to `vteps`, each with the node whose endpoints (of `net`) are behind it. */
export function replicationList(store: OverlayStore, net: NetworkEntry, vteps: string[]): ReplicationCopy[] {
  const nodes = new Map(store.endpoints(net.name).map((e) => [e.vtep, e.owner]));
  return vteps.map((vtep) => ({ vtep, node: nodes.get(vtep) ?? null }));
}

/** What trace says of the lookup of a group frame: where its copies go, or that nobody wants it. */
export function groupLookupDetail(shown: string, copies: ReplicationCopy[]): string {
  if (copies.length === 0) return `${shown}: no VTEP of the network wants it (no host joined the group): dropped, never flooded`;
  return `${shown} is a group address: ${copyCount(copies.length)}, to ${copies.map(describeCopy).join(', ')}`;
}

export const copyCount = (n: number): string => `${n} ${n === 1 ? 'copy' : 'copies'}`;
export const describeCopy = (c: ReplicationCopy): string => `${c.vtep} (${c.node ?? 'static peer'})`;

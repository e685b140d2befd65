/**
 * Egress stage "lookup": where a frame goes. A unicast frame's destination
 * MAC is looked up in the FDB of the network, and on an encrypted network the
 * frame goes nowhere without an outbound SA that can still send (fails
 * closed, CVE-2023-28841). Broadcast and multicast frames are dropped (never
 * flooded; ARP and ND were answered by the proxy) — except on a multicast
 * network, where `lookupGroup` sorts them by the rules of MulticastSettings
 * (../multicast/settings.ts): IGMP/MLD to the membership listener, link-local groups and
 * broadcast to every VTEP of the network, other groups to their VTEPs.
 */
import { ETHERTYPE, IP_PROTOCOL, IPV4_MIN_HEADER_LENGTH, IPV6_HEADER_LENGTH, IPV6_NEXT_HEADER_HOP_BY_HOP, isMldType, isSolicitedNode } from '../../wire/index.js';
import type { DropReason } from '../datapath.js';
import type { EspSaStore } from '../esp-store.js';
import type { FdbTable, GroupTable } from '../tables.js';
import { isGroupFrame, type L2 } from './frame.js';

/** Where the lookup stage sends a frame. */
export interface Route {
  /** The VTEP (canonical text form) that holds the destination MAC. */
  vtep: string;
}

/** Returns the VTEP of the destination MAC of `frame` on network `vni`, or the reason to drop it; `encrypted` also requires an outbound SA to that VTEP. */
export function lookup(fdb: FdbTable, sas: EspSaStore, vni: number, encrypted: boolean, frame: Buffer): Route | DropReason {
  if (isGroupFrame(frame)) return isBroadcast(frame) ? 'broadcast' : 'multicast';
  const vtep = fdb.lookup(vni, frame, 0);
  if (vtep === undefined) return 'no_fdb';
  if (encrypted && sas.findOutbound(vni, vtep) === undefined) return 'no_sa';
  return { vtep };
}

/**
 * Where a group frame goes on a multicast network: `membership` (IGMP or
 * MLD, rule 1), or the VTEPs to replicate it to, sorted — every VTEP of the
 * network (rule 3), none (a solicited-node group, rule 4), or the group
 * table's list for its MAC (rule 5). An empty list is dropped (`multicast`).
 */
export function lookupGroup(fdb: FdbTable, groups: GroupTable, vni: number, frame: Buffer, l2: L2): 'membership' | readonly string[] {
  const dst = destination(frame, l2);
  if (dst === 'membership') return dst;
  if (dst === 'link-local' || isBroadcast(frame)) return fdb.vteps(vni);
  if (dst === 'solicited-node') return [];
  return groups.lookup(vni, frame, 0);
}

/** Where the IP destination of a group frame puts it; `other` when it is not IP or no IP header is there to read. */
type Destination = 'membership' | 'link-local' | 'solicited-node' | 'other';


function destination(frame: Buffer, l2: L2): Destination {
  const ip = l2.l3off;
  if (l2.etherType === ETHERTYPE.IPV4 && frame.length >= ip + IPV4_MIN_HEADER_LENGTH) {
    if (frame[ip + 9] === IP_PROTOCOL.IGMP) return 'membership';
    return frame[ip + 16] === 224 && frame[ip + 17] === 0 && frame[ip + 18] === 0 ? 'link-local' : 'other';
  }
  if (l2.etherType === ETHERTYPE.IPV6 && frame.length >= ip + IPV6_HEADER_LENGTH) {
    if (isMld(frame, ip)) return 'membership';
    if (frame[ip + 24] !== 0xff || frame[ip + 25] !== 0x02) return 'other';
    return isSolicitedNode(frame.subarray(ip + 24, ip + 40)) ? 'solicited-node' : 'link-local';
  }
  return 'other';
}

/** Whether the IPv6 packet at `ip` is ICMPv6 of an MLD type, after a hop-by-hop header if there is one (where MLD's router alert sits). */
function isMld(frame: Buffer, ip: number): boolean {
  let next = frame[ip + 6];
  let at = ip + IPV6_HEADER_LENGTH;
  if (next === IPV6_NEXT_HEADER_HOP_BY_HOP) {
    if (frame.length < at + 8) return false;
    next = frame[at];
    at += (frame[at + 1] + 1) * 8;
  }
  return next === IP_PROTOCOL.ICMPV6 && at < frame.length && isMldType(frame[at]);
}

const isBroadcast = (frame: Buffer): boolean =>
  frame[0] === 0xff && frame[1] === 0xff && frame[2] === 0xff && frame[3] === 0xff && frame[4] === 0xff && frame[5] === 0xff;

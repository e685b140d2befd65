/**
 * Egress stage "lookup": where a unicast frame goes. Broadcast and multicast
 * frames are dropped (never flooded; ARP and ND were answered by the proxy),
 * the destination MAC is looked up in the FDB of the network, and on an
 * encrypted network the frame goes nowhere without an outbound SA that can
 * still send (fails closed, CVE-2023-28841).
 */
import type { DropReason } from '../datapath.js';
import type { EspSaStore } from '../esp-store.js';
import type { FdbTable } from '../tables.js';

/** Where the lookup stage sends a frame. */
export interface Route {
  /** The VTEP (canonical text form) that holds the destination MAC. */
  vtep: string;
}

/** Returns the VTEP of the destination MAC of `frame` on network `vni`, or the reason to drop it; `encrypted` also requires an outbound SA to that VTEP. */
export function lookup(fdb: FdbTable, sas: EspSaStore, vni: number, encrypted: boolean, frame: Buffer): Route | DropReason {
  if (frame[0] & 1) return isBroadcast(frame) ? 'broadcast' : 'multicast';
  const vtep = fdb.lookup(vni, frame, 0);
  if (vtep === undefined) return 'no_fdb';
  if (encrypted && sas.findOutbound(vni, vtep) === undefined) return 'no_sa';
  return { vtep };
}

const isBroadcast = (frame: Buffer): boolean =>
  frame[0] === 0xff && frame[1] === 0xff && frame[2] === 0xff && frame[3] === 0xff && frame[4] === 0xff && frame[5] === 0xff;

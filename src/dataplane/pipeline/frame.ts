/**
 * What the stages of ../process.ts share: a network's settings, the parsed
 * Ethernet layer of an egress frame, and the canonical form of an underlay
 * address. A stage imports this file, wire/ and crypto/, never another stage.
 */
import { formatIp, parseIp } from '../../wire/index.js';
import type { MulticastSettings, NetworkEncryption } from '../datapath.js';

/** A network this host joined, as the data path sees it. */
export interface NetworkConfig {
  /** Overlay IP MTU. */
  mtu: number;
  /** Set for an encrypted network (docs/datapath.md "Encrypted networks"). */
  encryption?: NetworkEncryption;
  /** Set for a multicast network: group frames are replicated (docs/multicast.md "Replication"). */
  multicast?: MulticastSettings;
}

/** The parsed Ethernet layer of an egress frame. */
export interface L2 {
  /** VLAN tags skipped (0–2). */
  tags: number;
  /** Offset of the layer-3 header. */
  l3off: number;
  /** EtherType after the tags. */
  etherType: number;
}

/** Returns whether the destination MAC of `frame` has the group bit (broadcast or multicast). */
export const isGroupFrame = (frame: Buffer): boolean => (frame[0] & 1) !== 0;

/** Returns the canonical text form of an underlay address (IPv4-mapped IPv6 becomes IPv4), or undefined when it is not an address. */
export function canonicalAddress(addr: string): string | undefined {
  const lower = addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
  try {
    return formatIp(parseIp(lower));
  } catch {
    return undefined;
  }
}

/**
 * Egress stage "proxy": ARP requests and IPv6 neighbour solicitations are
 * answered from the neighbour table, here; they never leave the host. Each
 * function returns the reply frame (back to the TAP) or why there is none.
 */
import {
  ARP_OP,
  ARP_PACKET_LENGTH,
  encodeArp,
  encodeEthernet,
  encodeIPv6,
  encodeNeighborAdvertisement,
  ETHERTYPE,
  ICMPV6_TYPE,
  IP_PROTOCOL,
  IPV6_HEADER_LENGTH,
  ND_FLAG_OVERRIDE,
  ND_FLAG_SOLICITED,
} from '../../wire/index.js';
import type { DropReason } from '../datapath.js';
import type { NeighbourTable } from '../tables.js';
import type { L2 } from './frame.js';

/** ARP hardware type of Ethernet. */
const ARP_HTYPE_ETHERNET = 1;
/** Hop limit of every ND message (RFC 4861 §7.1.1: anything else was forwarded). */
const ND_HOP_LIMIT = 255;

/** Returns the ARP reply to an untagged ARP request for a known address of another host, or the reason to drop the frame. */
export function proxyArp(neigh: NeighbourTable, vni: number, frame: Buffer, l2: L2): Buffer | DropReason {
  if (l2.tags > 0) return 'arp_other';
  const a = l2.l3off;
  if (frame.length < a + ARP_PACKET_LENGTH) return 'malformed';
  if (frame.readUInt16BE(a) !== ARP_HTYPE_ETHERNET || frame.readUInt16BE(a + 2) !== ETHERTYPE.IPV4 || frame[a + 4] !== 6 || frame[a + 5] !== 4) {
    return 'malformed';
  }
  if (frame.readUInt16BE(a + 6) !== ARP_OP.REQUEST) return 'arp_other';
  const sha = frame.subarray(a + 8, a + 14);
  const spa = frame.subarray(a + 14, a + 18);
  const tpa = frame.subarray(a + 24, a + 28);
  if (spa.equals(tpa)) return 'arp_other'; // gratuitous ARP
  const mac = neigh.lookup(vni, frame, a + 24, 4);
  if (mac === undefined || mac.equals(frame.subarray(6, 12))) return 'arp_unknown';
  const arp = encodeArp({ op: ARP_OP.REPLY, sha: mac, spa: tpa, tha: sha, tpa: spa });
  return encodeEthernet({ dst: frame.subarray(6, 12), src: mac, etherType: ETHERTYPE.ARP }, arp);
}

/**
 * Returns the neighbour advertisement answering a neighbour solicitation
 * (hop limit 255, not duplicate address detection) for a known address of
 * another host, or the reason to drop the frame; `frame` is neighbour
 * discovery, as parse's isNeighbourDiscovery tells.
 */
export function proxyNd(neigh: NeighbourTable, vni: number, frame: Buffer, l2: L2): Buffer | DropReason {
  const ip = l2.l3off;
  const icmp = ip + IPV6_HEADER_LENGTH;
  if (frame[icmp] !== ICMPV6_TYPE.NEIGHBOR_SOLICITATION || frame[icmp + 1] !== 0 || frame[ip + 7] !== ND_HOP_LIMIT) return 'nd_other';
  if (frame.length < icmp + 24) return 'malformed';
  const src = frame.subarray(ip + 8, ip + 24);
  if (isZero(src)) return 'nd_dad';
  const target = frame.subarray(icmp + 8, icmp + 24);
  const mac = neigh.lookup(vni, frame, icmp + 8, 16);
  if (mac === undefined || mac.equals(frame.subarray(6, 12))) return 'nd_unknown';
  const na = encodeNeighborAdvertisement(target, src, target, mac, ND_FLAG_SOLICITED | ND_FLAG_OVERRIDE);
  const ipv6 = encodeIPv6({ nextHeader: IP_PROTOCOL.ICMPV6, hopLimit: ND_HOP_LIMIT, src: target, dst: src }, na);
  return encodeEthernet({ dst: frame.subarray(6, 12), src: mac, etherType: ETHERTYPE.IPV6 }, ipv6);
}

function isZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

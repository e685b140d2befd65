/**
 * Egress stage "parse": the Ethernet header of a frame read from a TAP, with
 * up to two VLAN tags (802.1Q, 802.1ad) skipped, and the test that picks
 * neighbour discovery out for the ND proxy.
 */
import { ETHERNET_HEADER_LENGTH, ETHERTYPE, ICMPV6_TYPE, IP_PROTOCOL, IPV6_HEADER_LENGTH, MAX_VLAN_TAGS } from '../../wire/index.js';
import type { DropReason } from '../datapath.js';
import type { L2 } from './frame.js';

/** ICMPv6 types of neighbour discovery (RFC 4861): router solicitation … redirect. */
const ND_FIRST = ICMPV6_TYPE.ROUTER_SOLICITATION;
const ND_LAST = 137;

/** Returns the Ethernet layer of `frame` with up to two VLAN tags skipped, or `malformed` when the header or a tag is truncated. */
export function parse(frame: Buffer): L2 | DropReason {
  if (frame.length < ETHERNET_HEADER_LENGTH) return 'malformed';
  let off = 12;
  let tags = 0;
  let type = frame.readUInt16BE(off);
  while ((type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ) && tags < MAX_VLAN_TAGS) {
    if (frame.length < off + 6) return 'malformed';
    off += 4;
    tags++;
    type = frame.readUInt16BE(off);
  }
  return { tags, l3off: off + 2, etherType: type };
}

/** Returns whether `frame` is an untagged IPv6 frame carrying ICMPv6 types 133–137 straight after the fixed header. */
export function isNeighbourDiscovery(frame: Buffer, l2: L2): boolean {
  const icmp = l2.l3off + IPV6_HEADER_LENGTH;
  if (l2.etherType !== ETHERTYPE.IPV6 || l2.tags !== 0 || frame.length < icmp + 2) return false;
  const type = frame[icmp];
  return frame[l2.l3off + 6] === IP_PROTOCOL.ICMPV6 && type >= ND_FIRST && type <= ND_LAST;
}

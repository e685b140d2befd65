/**
 * Data-path frames to groups, for the multicast tests of both paths: UDP to
 * an IPv4 or IPv6 group (or broadcast), and the IGMP / MLD reports a
 * container's stack sends, as whole Ethernet frames from frames.ts's local
 * endpoint. Each rule of MulticastSettings (src/dataplane/multicast/settings.ts)
 * has a frame here.
 */
import {
  encodeEthernet,
  encodeIgmpReport,
  encodeIPv4,
  encodeIPv6,
  encodeMldReport,
  encodeUdp,
  ETHERTYPE,
  formatMac,
  groupMac,
  IP_PROTOCOL,
  IPV4_ROUTER_ALERT,
  parseIp,
  parseMac,
  routerAlertHopByHop,
} from '../wire/index.js';
import { ipv4Frame, LOCAL_IP, LOCAL_IP6, LOCAL_MAC } from './frames.js';

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
/** Where IGMPv3 and MLDv2 reports go. */
const IGMPV3_REPORTS = '224.0.0.22';
const MLDV2_REPORTS = 'ff02::16';

/** UDP to an IPv4 `group` (its group MAC unless `dstMac`), an IP packet of `size` bytes (default 84); `df` sets don't-fragment. */
export function udp4ToGroup(group: string, o: { size?: number; df?: boolean; dstMac?: string } = {}): Buffer {
  return ipv4Frame({ dst: group, dstMac: o.dstMac ?? groupMacText(group), size: o.size, df: o.df });
}

/** UDP to an IPv6 `group` (its group MAC unless `dstMac`), an IP packet of `size` bytes (default 104). */
export function udp6ToGroup(group: string, o: { size?: number; dstMac?: string } = {}): Buffer {
  const src = parseIp(LOCAL_IP6);
  const dst = parseIp(group);
  const body = Buffer.alloc(Math.max(0, (o.size ?? 104) - 48), 0x5a);
  const udp = encodeUdp(src, dst, { srcPort: 40000, dstPort: 5353 }, body);
  const packet = encodeIPv6({ nextHeader: IP_PROTOCOL.UDP, hopLimit: 1, src, dst }, udp);
  return encodeEthernet({ dst: parseMac(o.dstMac ?? groupMacText(group)), src: parseMac(LOCAL_MAC), etherType: ETHERTYPE.IPV6 }, packet);
}

/** An IGMP report joining `group`: version 2 (to the group) or 3 (to 224.0.0.22), with the router alert option. */
export function igmpJoin(group: string, version: 2 | 3 = 3): Buffer {
  const to = version === 2 ? group : IGMPV3_REPORTS;
  const igmp = encodeIgmpReport(version, [{ type: version === 2 ? 'join' : 'is_exclude', group, sources: [] }]);
  const ip = encodeIPv4({ tos: 0xc0, ttl: 1, protocol: IP_PROTOCOL.IGMP, src: parseIp(LOCAL_IP), dst: parseIp(to), options: IPV4_ROUTER_ALERT }, igmp);
  return encodeEthernet({ dst: groupMac(to), src: parseMac(LOCAL_MAC), etherType: ETHERTYPE.IPV4 }, ip);
}

/** An MLD report listening to `group`: version 1 (to the group) or 2 (to ff02::16), behind the hop-by-hop router alert unless `bare`. */
export function mldJoin(group: string, version: 1 | 2 = 2, bare = false): Buffer {
  const src = parseIp('fe80::42:c6ff:fe13:102');
  const to = version === 1 ? group : MLDV2_REPORTS;
  const mld = encodeMldReport(src, parseIp(to), version, [{ type: version === 1 ? 'join' : 'is_exclude', group, sources: [] }]);
  const payload = bare ? mld : Buffer.concat([routerAlertHopByHop(IP_PROTOCOL.ICMPV6), mld]);
  const ip = encodeIPv6({ nextHeader: bare ? IP_PROTOCOL.ICMPV6 : 0, hopLimit: 1, src, dst: parseIp(to) }, payload);
  return encodeEthernet({ dst: groupMac(to), src: parseMac(LOCAL_MAC), etherType: ETHERTYPE.IPV6 }, ip);
}

/** The text form of a group's MAC (what groupSet takes). */
export function groupMacText(group: string): string {
  return formatMac(groupMac(group));
}

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
const IP_PROTOCOL_IGMP = 2;
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
  const ip = encodeIPv4({ tos: 0xc0, ttl: 1, protocol: IP_PROTOCOL_IGMP, src: parseIp(LOCAL_IP), dst: parseIp(to), options: IPV4_ROUTER_ALERT }, igmp);
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

// The native differential tests' helpers (branch mcnative), beside the reference path's (branch mcjs).

/** A UDP payload of `size` bytes with a recognisable pattern. */
function body(size: number): Buffer {
  const b = Buffer.alloc(Math.max(0, size));
  for (let i = 0; i < b.length; i++) b[i] = (i * 11 + 5) & 0xff;
  return b;
}

/** UDP to an IPv4 group (or, with `broadcast`, to `dst` at the broadcast MAC); `size` is the IP packet's length. */
export function udp4To(dst: string, o: { size?: number; df?: boolean; dstMac?: string; srcPort?: number } = {}): Buffer {
  const size = o.size ?? 100;
  const src = parseIp(LOCAL_IP);
  const to = parseIp(dst);
  const udp = encodeUdp(src, to, { srcPort: o.srcPort ?? 40001, dstPort: 5353 }, body(size - 28));
  const packet = encodeIPv4({ id: 0x4242, ttl: 1, protocol: 17, src, dst: to, flags: o.df ? 0x2 : 0 }, udp);
  const dstMac = o.dstMac !== undefined ? parseMac(o.dstMac) : dst === '255.255.255.255' || dst.endsWith('.255') ? parseMac(BROADCAST_MAC) : groupMac(dst);
  return encodeEthernet({ dst: dstMac, src: parseMac(LOCAL_MAC), etherType: 0x0800 }, packet);
}

/** UDP to an IPv6 group; `size` is the IP packet's length. */
export function udp6To(dst: string, o: { size?: number; dstMac?: string } = {}): Buffer {
  const size = o.size ?? 120;
  const src = parseIp(LOCAL_IP6);
  const to = parseIp(dst);
  const packet = encodeIPv6({ nextHeader: 17, hopLimit: 1, src, dst: to }, encodeUdp(src, to, { srcPort: 40001, dstPort: 5353 }, body(size - 48)));
  return encodeEthernet({ dst: o.dstMac !== undefined ? parseMac(o.dstMac) : groupMac(dst), src: parseMac(LOCAL_MAC), etherType: 0x86dd }, packet);
}

/** An IGMPv2 or v3 report joining `group`, as a Linux endpoint sends it. */
export function igmpReport(group: string, version: 2 | 3 = 3): Buffer {
  const dst = version === 3 ? '224.0.0.22' : group;
  const igmp = encodeIgmpReport(version, [{ type: version === 3 ? 'to_exclude' : 'join', group, sources: [] }]);
  const packet = encodeIPv4({ tos: 0xc0, ttl: 1, protocol: 2, src: parseIp(LOCAL_IP), dst: parseIp(dst), options: IPV4_ROUTER_ALERT }, igmp);
  return encodeEthernet({ dst: groupMac(dst), src: parseMac(LOCAL_MAC), etherType: 0x0800 }, packet);
}

/** An MLDv2 report joining `group`, behind the hop-by-hop router alert (or, `bare`, right after the IPv6 header). */
export function mldReport(group: string, o: { bare?: boolean } = {}): Buffer {
  const src = parseIp('fe80::42:c6ff:fe13:102');
  const dst = parseIp('ff02::16');
  const mld = encodeMldReport(src, dst, 2, [{ type: 'to_exclude', group, sources: [] }]);
  const packet = o.bare
    ? encodeIPv6({ nextHeader: 58, hopLimit: 1, src, dst }, mld)
    : encodeIPv6({ nextHeader: 0, hopLimit: 1, src, dst }, Buffer.concat([routerAlertHopByHop(58), mld]));
  return encodeEthernet({ dst: groupMac('ff02::16'), src: parseMac(LOCAL_MAC), etherType: 0x86dd }, packet);
}

/**
 * Group frames for the multicast data-path tests (docs/multicast.md): UDP to
 * an IPv4 or IPv6 group or to broadcast, IGMP and MLD reports as endpoints
 * send them (router alert; MLD behind a hop-by-hop header, or bare), from
 * the local endpoint of frames.ts.
 */
import {
  encodeEthernet,
  encodeIgmpReport,
  encodeIPv4,
  encodeIPv6,
  encodeMldReport,
  encodeUdp,
  formatMac,
  groupMac,
  IPV4_ROUTER_ALERT,
  parseIp,
  parseMac,
  routerAlertHopByHop,
} from '../wire/index.js';
import { LOCAL_IP, LOCAL_IP6, LOCAL_MAC } from './frames.js';

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

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

/** An MLD report joining `group`: version 2 (to ff02::16, the default) or 1 (to the group), behind the hop-by-hop router alert (or, `bare`, right after the IPv6 header). */
export function mldReport(group: string, o: { bare?: boolean; version?: 1 | 2 } = {}): Buffer {
  const src = parseIp('fe80::42:c6ff:fe13:102');
  const to = o.version === 1 ? group : 'ff02::16';
  const dst = parseIp(to);
  const mld = encodeMldReport(src, dst, o.version ?? 2, [{ type: o.version === 1 ? 'join' : 'to_exclude', group, sources: [] }]);
  const packet = o.bare
    ? encodeIPv6({ nextHeader: 58, hopLimit: 1, src, dst }, mld)
    : encodeIPv6({ nextHeader: 0, hopLimit: 1, src, dst }, Buffer.concat([routerAlertHopByHop(58), mld]));
  return encodeEthernet({ dst: groupMac(to), src: parseMac(LOCAL_MAC), etherType: 0x86dd }, packet);
}

/** The text form of a group's MAC (what groupSet takes). */
export const groupMacText = (group: string): string => formatMac(groupMac(group));

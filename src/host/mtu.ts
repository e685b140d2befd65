/**
 * The overlay MTU default (DESIGN.md §4.2): the MTU of the interface that
 * holds the advertise address, less the VXLAN overhead for that underlay
 * family (20 IPv4 or 40 IPv6, + 8 UDP + 8 VXLAN + 14 inner Ethernet).
 */
import { HostError, ipJson } from './command.js';
import { formatIp, parseIp } from '../wire/index.js';

export const VXLAN_OVERHEAD_IPV4 = 50;
export const VXLAN_OVERHEAD_IPV6 = 70;

interface IpAddrLink {
  ifname: string;
  mtu: number;
  addr_info?: { local: string }[];
}

/** The name and MTU of the interface carrying `address`. */
export async function underlayInterface(address: string): Promise<{ ifname: string; mtu: number }> {
  const wanted = formatIp(parseIp(address));
  const links = await ipJson<IpAddrLink[]>('addr', 'show');
  for (const link of links) {
    for (const a of link.addr_info ?? []) {
      if (formatIp(parseIp(a.local)) === wanted) return { ifname: link.ifname, mtu: link.mtu };
    }
  }
  throw new HostError('NO_SUCH_ADDRESS', `no interface in this namespace has the address ${address}`);
}

/** Overlay MTU for an underlay interface MTU and address family. */
export const overlayMtu = (underlayMtu: number, family: 4 | 6): number =>
  underlayMtu - (family === 6 ? VXLAN_OVERHEAD_IPV6 : VXLAN_OVERHEAD_IPV4);

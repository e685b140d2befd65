/**
 * The links of one overlay network on this host (DESIGN.md §1):
 *
 *   container netns: eth0 ──veth── host: vo<id> ── bridge ov-<vni> ── TAP vx-<vni>
 *
 * Host-side ports take the largest MTU so an oversized frame from a container
 * whose MTU was raised by hand reaches the data path, which answers it with
 * an ICMP error instead of the kernel dropping it silently. The container side
 * gets the overlay MTU.
 */
import { existsSync } from 'node:fs';
import { HostError, ip, ipIn, ipJson, sysctl } from './command.js';

/** Largest MTU both a veth and a TAP accept (a TAP: 65535 less its 14-byte header). */
export const PORT_MTU = 65521;

export const bridgeName = (vni: number): string => `ov-${vni}`;
export const tapName = (vni: number): string => `vx-${vni}`;
/** Host-side veth of an endpoint (≤ 15 characters). */
export const hostVethName = (endpointId: string): string => `vo${endpointId.slice(0, 12)}`;

interface IpLink {
  ifname: string;
  mtu: number;
  master?: string;
  operstate?: string;
}

export async function linkExists(name: string): Promise<boolean> {
  const links = await ipJson<IpLink[]>('link', 'show').catch(() => []);
  return links.some((l) => l.ifname === name);
}

/** Makes sure the network's bridge exists and is up, quiet on IPv6 (no RS/MLD of its own). */
export async function ensureBridge(vni: number): Promise<void> {
  const name = bridgeName(vni);
  if (!(await linkExists(name))) {
    await ip('link', 'add', 'name', name, 'type', 'bridge', 'mcast_snooping', '0');
  }
  await sysctl(`net.ipv6.conf.${name}.disable_ipv6`, '1');
  await ip('link', 'set', name, 'up');
}

/** Puts the (already opened) TAP of the network on its bridge. */
export async function attachTap(vni: number): Promise<void> {
  const name = tapName(vni);
  await sysctl(`net.ipv6.conf.${name}.disable_ipv6`, '1');
  await ip('link', 'set', name, 'mtu', String(PORT_MTU), 'master', bridgeName(vni), 'up');
}

/** Removes the network's bridge and TAP (both may already be gone). */
export async function removeNetworkLinks(vni: number): Promise<void> {
  for (const name of [tapName(vni), bridgeName(vni)]) {
    if (await linkExists(name)) await ip('link', 'del', name).catch(() => undefined);
  }
}

/** Resolves `--netns NAME|PATH` to a namespace file, or throws NETNS_NOT_FOUND. */
export function resolveNetns(netns: string): string {
  const path = netns.includes('/') ? netns : `/var/run/netns/${netns}`;
  if (!/^[\w./-]+$/.test(netns) || !existsSync(path)) {
    throw new HostError('NETNS_NOT_FOUND', `network namespace ${netns} does not exist`);
  }
  return path;
}

export interface ContainerInterface {
  endpointId: string;
  vni: number;
  /** Namespace file of the container. */
  nsPath: string;
  ifname: string;
  mac: string;
  mtu: number;
  /** Addresses with prefix length, e.g. "198.19.1.2/24", "2001:db8:1::2/64". */
  addresses: string[];
}

/** Creates the veth pair, moves one end into the container and configures it. */
export async function attachContainer(c: ContainerInterface): Promise<void> {
  const host = hostVethName(c.endpointId);
  const temp = `vc${c.endpointId.slice(0, 12)}`;
  const existing = await ipIn(c.nsPath, '-json', 'link', 'show').then((o) => JSON.parse(o) as IpLink[]);
  if (existing.some((l) => l.ifname === c.ifname)) {
    throw new HostError('LINK_EXISTS', `interface ${c.ifname} already exists in that namespace`);
  }
  await ip('link', 'add', host, 'mtu', String(PORT_MTU), 'type', 'veth', 'peer', 'name', temp, 'mtu', String(c.mtu), 'netns', c.nsPath);
  try {
    await sysctl(`net.ipv6.conf.${host}.disable_ipv6`, '1');
    await ip('link', 'set', host, 'master', bridgeName(c.vni), 'up');
    await ipIn(c.nsPath, 'link', 'set', temp, 'name', c.ifname, 'address', c.mac);
    for (const addr of c.addresses) {
      const v6 = addr.includes(':');
      await ipIn(c.nsPath, ...(v6 ? ['-6'] : []), 'addr', 'add', addr, 'dev', c.ifname, ...(v6 ? ['nodad'] : []));
    }
    await ipIn(c.nsPath, 'link', 'set', c.ifname, 'up');
    await ipIn(c.nsPath, 'link', 'set', 'lo', 'up');
  } catch (err) {
    await ip('link', 'del', host).catch(() => undefined);
    throw err;
  }
}

/** The container end of a veth that a runtime moves into the container itself (Docker: Join's SrcName). */
export const movableVethName = (endpointId: string): string => `vd${endpointId.slice(0, 12)}`;

/**
 * Creates an endpoint's veth pair in the agent's namespace for a runtime that
 * moves the container end and sets its addresses itself (Docker): the host end
 * joins the network's bridge, the other end waits, down, with the endpoint's
 * MAC and the overlay MTU. Returns the name of that end.
 */
export async function createMovableVeth(c: Pick<ContainerInterface, 'endpointId' | 'vni' | 'mac' | 'mtu'>): Promise<string> {
  const host = hostVethName(c.endpointId);
  const peer = movableVethName(c.endpointId);
  await ip('link', 'add', host, 'mtu', String(PORT_MTU), 'type', 'veth', 'peer', 'name', peer, 'mtu', String(c.mtu), 'address', c.mac);
  try {
    await sysctl(`net.ipv6.conf.${host}.disable_ipv6`, '1');
    await ip('link', 'set', host, 'master', bridgeName(c.vni), 'up');
  } catch (err) {
    await ip('link', 'del', host).catch(() => undefined);
    throw err;
  }
  return peer;
}

/** Removes the endpoint's veth pair (deleting one end removes both). */
export async function detachContainer(endpointId: string): Promise<void> {
  const host = hostVethName(endpointId);
  if (await linkExists(host)) await ip('link', 'del', host);
}

/** Moves a container interface to new addresses and a new MAC (an address conflict lost to an earlier claim). */
export async function readdressContainer(nsPath: string, ifname: string, oldAddrs: string[], newAddrs: string[], mac: string): Promise<void> {
  for (const a of oldAddrs) if (!newAddrs.includes(a)) await ipIn(nsPath, 'addr', 'del', a, 'dev', ifname).catch(() => undefined);
  await ipIn(nsPath, 'link', 'set', 'dev', ifname, 'address', mac);
  for (const a of newAddrs) {
    if (oldAddrs.includes(a)) continue;
    const v6 = a.includes(':');
    await ipIn(nsPath, ...(v6 ? ['-6'] : []), 'addr', 'add', a, 'dev', ifname, ...(v6 ? ['nodad'] : []));
  }
}

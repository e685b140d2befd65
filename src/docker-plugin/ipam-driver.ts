/**
 * Docker's IpamDriver (moby libnetwork docs/ipam.md), backed by overlayd's
 * cluster-wide allocation (src/cluster/addresses.ts) through the agent's
 * control API (reservations):
 *
 *   RequestPool     the pool is the `--subnet` given to `docker network create`; PoolID "overlayd/<subnet>"
 *   RequestAddress  gateway: the subnet's first address, nominal (see docs/docker.md "Gateway");
 *                   otherwise an address held on this host for the endpoint Docker creates next
 *   ReleaseAddress  lets a held address go (kept and replayed when the agent is down,
 *                   never taking an address handed out again: removals.ts)
 *   ReleasePool     nothing to do
 *
 * No pool without `--subnet` (two hosts must agree on it), no IPv6 pools, no
 * `--ip-range`: each is refused with a line that says so.
 */
import { firstHost, parseCidr, type Cidr } from '../wire/index.js';
import type { AgentConnection } from './agent.js';
import type { PendingCleanups } from './cleanups.js';
import type { AddressReuse } from './removals.js';
import { PluginError, type PluginCall } from './server.js';

/** Docker's option marking the request for a network's gateway address. */
export const GATEWAY_REQUEST = 'com.docker.network.gateway';
/** The one address space this driver has (local and global alike). */
export const ADDRESS_SPACE = 'overlayd';
const POOL_PREFIX = 'overlayd/';

/** The IpamDriver calls, by name. */
export function ipamCalls(agent: AgentConnection, cleanups: PendingCleanups, reuse: AddressReuse): [string, PluginCall][] {
  return [
    ['IpamDriver.GetCapabilities', () => ({ RequiresMACAddress: false, RequiresRequestReplay: false })],
    ['IpamDriver.GetDefaultAddressSpaces', () => ({ LocalDefaultAddressSpace: ADDRESS_SPACE, GlobalDefaultAddressSpace: ADDRESS_SPACE })],
    ['IpamDriver.RequestPool', (b) => requestPool(b)],
    ['IpamDriver.ReleasePool', () => ({})],
    ['IpamDriver.RequestAddress', (b) => requestAddress(agent, cleanups, reuse, b)],
    ['IpamDriver.ReleaseAddress', (b) => releaseAddress(cleanups, b)],
  ];
}

function requestPool(b: Record<string, unknown>): Record<string, unknown> {
  if (b.V6 === true) throw new PluginError('UNSUPPORTED', 'overlayd IPAM: IPv6 pools are not supported for Docker networks; create the network without --ipv6');
  if (typeof b.SubPool === 'string' && b.SubPool !== '') throw new PluginError('UNSUPPORTED', 'overlayd IPAM: --ip-range is not supported; addresses come from the whole --subnet');
  if (typeof b.Pool !== 'string' || b.Pool === '') {
    throw new PluginError('BAD_REQUEST', 'overlayd IPAM needs --subnet: every host must create the network with the same subnet');
  }
  const cidr = subnet(b.Pool);
  if (cidr.family !== 4) throw new PluginError('UNSUPPORTED', 'overlayd IPAM: only IPv4 subnets for Docker networks');
  return { PoolID: POOL_PREFIX + cidr.text, Pool: cidr.text, Data: {} };
}

async function requestAddress(agent: AgentConnection, cleanups: PendingCleanups, reuse: AddressReuse, b: Record<string, unknown>): Promise<Record<string, unknown>> {
  const cidr = poolOf(b.PoolID);
  const wanted = typeof b.Address === 'string' && b.Address !== '' ? b.Address : undefined;
  const options = (b.Options ?? {}) as Record<string, unknown>;
  if (options.RequestAddressType === GATEWAY_REQUEST) {
    // Asked while the network is being created, before overlayd's network may exist: nominal, held by nothing.
    return { Address: `${wanted ?? firstHost(cidr)}/${cidr.prefix}`, Data: {} };
  }
  const network = await agent.networkOfSubnet(cidr.text);
  if (!network) throw new PluginError('UNKNOWN_NETWORK', `overlayd has no network with subnet ${cidr.text}: create it with docker network create -d overlayd --ipam-driver overlayd --subnet ${cidr.text}`);
  await agent.holdGateway(network.name, cidr.text); // again: the agent may have restarted since
  const ip = await agent.reserveAddress(network.name, wanted);
  // Handed out again: a release of it still to come or still kept is the old holder's, not this one's (removals.ts).
  reuse.given(network.name, ip);
  cleanups.cancel({ kind: 'address', subnet: cidr.text, ip });
  return { Address: `${ip}/${cidr.prefix}`, Data: {} };
}

async function releaseAddress(cleanups: PendingCleanups, b: Record<string, unknown>): Promise<Record<string, unknown>> {
  const cidr = poolOf(b.PoolID);
  if (typeof b.Address === 'string' && b.Address !== '') await cleanups.remove({ kind: 'address', subnet: cidr.text, ip: b.Address.split('/')[0] });
  return {};
}

function poolOf(id: unknown): Cidr {
  if (typeof id !== 'string' || !id.startsWith(POOL_PREFIX)) throw new PluginError('BAD_REQUEST', `overlayd IPAM: unknown pool id ${JSON.stringify(id)}`);
  return subnet(id.slice(POOL_PREFIX.length));
}

function subnet(text: string): Cidr {
  try {
    return parseCidr(text);
  } catch (err) {
    throw new PluginError('BAD_REQUEST', `overlayd IPAM: ${(err as Error).message}`);
  }
}

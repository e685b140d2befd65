/**
 * The CNI operations, each through the agent's control API:
 *
 *   ADD     attach CNI_NETNS as CNI_IFNAME (runtime "cni", container = CNI_CONTAINERID); print the result
 *   DEL     detach this node's endpoints of (container id, ifname); nothing there is success
 *   CHECK   the agent holds the endpoint, and the interface in the netns has its MAC, addresses and MTU
 *   STATUS  the agent answers and has the network (else 50)
 *   GC      detach this node's CNI endpoints of the network that are not in cni.dev/valid-attachments
 *
 * An endpoint is ours when the agent's node holds it, its runtime is "cni"
 * and its container and ifname are the call's: a late DEL (ctr's, after the
 * task died) comes without CNI_NETNS, so the namespace cannot be the key.
 */
import { AgentConnection } from './agent.js';
import type { AgentEndpoint, AgentNetwork } from '../api-client/records.js';
import type { PluginConfig } from './config.js';
import type { CniEnvironment } from './env.js';
import { CniError } from './errors.js';
import { readInterface, requireNetns } from './netns.js';
import { addResult, resultAddresses, withPrefix, type CniResult } from './result.js';

/** Endpoints of `node` that a CNI runtime attached for `container`, interface `ifname` (any interface when undefined). */
function attachedFor(endpoints: AgentEndpoint[], node: string, container: string, ifname?: string): AgentEndpoint[] {
  return endpoints.filter((e) => e.node === node && e.runtime === 'cni' && e.container === container && (ifname === undefined || e.ifname === ifname));
}

async function requireNetwork(agent: AgentConnection, conf: PluginConfig): Promise<AgentNetwork> {
  const network = await agent.network(conf.network);
  if (!network) {
    throw new CniError('INVALID_CONFIG', `overlayd has no network "${conf.network}" (create it first: overlayctl network create ${conf.network} --subnet CIDR)`);
  }
  return network;
}

/** ADD: attaches the container and returns the result to print. */
export async function add(call: CniEnvironment, conf: PluginConfig): Promise<CniResult> {
  const [netns, ifname, container] = [call.netns!, call.ifname!, call.containerId!];
  requireNetns(netns);
  const agent = new AgentConnection(conf.socket);
  const network = await requireNetwork(agent, conf);
  const node = await agent.node();
  const existing = attachedFor(await agent.endpoints(conf.network), node, container, ifname);
  if (existing.length > 0) {
    const e = existing[0];
    throw new CniError('ALREADY_ATTACHED', `container ${container} already has ${ifname} on network ${conf.network} (endpoint ${e.id.slice(0, 12)}, ${e.ips.join(', ')}): DEL it first`);
  }
  const endpoint = await agent.attach({ network: conf.network, netns, ifname, container, ...(conf.ip ? { ips: [conf.ip] } : {}) });
  return addResult(conf.cniVersion, network, endpoint, netns);
}

/** DEL: detaches what ADD attached; idempotent (nothing attached, netns gone, network gone: success). */
export async function del(call: CniEnvironment, conf: PluginConfig): Promise<void> {
  const agent = new AgentConnection(conf.socket);
  const node = await agent.node();
  for (const e of attachedFor(await agent.endpoints(conf.network), node, call.containerId!, call.ifname!)) await agent.detach(e.id);
}

/** CHECK: throws CHECK_FAILED saying what differs from what ADD made. */
export async function check(call: CniEnvironment, conf: PluginConfig): Promise<void> {
  const [netns, ifname, container] = [call.netns!, call.ifname!, call.containerId!];
  requireNetns(netns);
  const agent = new AgentConnection(conf.socket);
  const network = await requireNetwork(agent, conf);
  const node = await agent.node();
  const [endpoint] = attachedFor(await agent.endpoints(conf.network), node, container, ifname);
  const fail = (what: string): CniError => new CniError('CHECK_FAILED', `CHECK of ${container} ${ifname} on ${conf.network}: ${what}`);
  if (!endpoint) throw fail(`the agent holds no such endpoint on node ${node}`);
  const want = endpoint.ips.map((ip) => withPrefix(network, ip));
  const cached = resultAddresses(conf.prevResult);
  if (cached && [...cached].sort().join() !== [...want].sort().join()) throw fail(`prevResult has ${cached.join(', ')}, the agent holds ${want.join(', ')}`);
  const iface = await readInterface(netns, ifname);
  if (!iface) throw fail(`there is no interface ${ifname} in ${netns}`);
  if (iface.mac !== endpoint.mac.toLowerCase()) throw fail(`MAC is ${iface.mac}, the agent holds ${endpoint.mac}`);
  if (iface.mtu !== network.mtu) throw fail(`MTU is ${iface.mtu}, the network's is ${network.mtu}`);
  if (!iface.up) throw fail(`${ifname} is down`);
  const missing = want.filter((a) => !iface.addresses.includes(a));
  if (missing.length > 0) throw fail(`${ifname} lacks ${missing.join(', ')} (it has ${iface.addresses.join(', ') || 'no address'})`);
  const fdb = await agent.fdb(conf.network);
  for (const ip of endpoint.ips) {
    if (!fdb.some((r) => r.ip === ip && r.mac === endpoint.mac && r.origin === 'local')) throw fail(`the agent's FDB has no local entry ${ip} → ${endpoint.mac}`);
  }
}

/** STATUS: succeeds when the agent answers and has the network; NOT_AVAILABLE (50) otherwise. */
export async function status(_call: CniEnvironment, conf: PluginConfig): Promise<void> {
  const agent = new AgentConnection(conf.socket, 5_000);
  let network: AgentNetwork | undefined;
  try {
    network = await agent.network(conf.network);
  } catch (err) {
    if (err instanceof CniError && err.kind === 'TRY_AGAIN_LATER') throw new CniError('NOT_AVAILABLE', err.message, err.details);
    throw err;
  }
  if (!network) throw new CniError('NOT_AVAILABLE', `overlayd has no network "${conf.network}" yet: ADD would fail`);
}

/** GC: detaches this node's CNI endpoints of the network that the runtime no longer lists. */
export async function gc(_call: CniEnvironment, conf: PluginConfig): Promise<void> {
  const valid = conf.validAttachments;
  if (!valid) throw new CniError('INVALID_CONFIG', 'invalid network configuration: GC needs "cni.dev/valid-attachments" (the attachments still in use)');
  const keep = new Set(valid.map((a) => `${a.containerID}\n${a.ifname}`));
  const agent = new AgentConnection(conf.socket);
  const node = await agent.node();
  const stale = (await agent.endpoints(conf.network)).filter(
    (e) => e.node === node && e.runtime === 'cni' && e.container !== undefined && !keep.has(`${e.container}\n${e.ifname}`),
  );
  for (const e of stale) await agent.detach(e.id);
}

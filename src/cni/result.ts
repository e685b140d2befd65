/**
 * The CNI result of an ADD (CNI SPEC §"Success"), made from the endpoint the
 * agent attached and its network:
 *
 *   {"cniVersion": "1.0.0",
 *    "interfaces": [{"name": "eth0", "mac": "02:42:c6:13:01:02", "mtu": 1450, "sandbox": "/proc/42/ns/net"}],
 *    "ips": [{"address": "198.19.1.2/24", "interface": 0}],
 *    "routes": [{"dst": "198.19.1.0/24"}]}
 *
 * One interface, the container's (the host end of the veth is the agent's
 * business and comes and goes with the endpoint). No gateway and no default
 * route: an overlayd network is an isolated L2 segment across hosts, like
 * Docker's overlay with --internal; the route listed is the subnet's, which
 * the kernel holds as soon as the address is set. `mtu` is the network's
 * (a 1.1.0 field; 1.0.0 readers ignore it).
 */
import { parseCidr } from '../wire/cidr.js';
import { ipFamily } from '../wire/ip.js';
import type { AgentEndpoint, AgentNetwork } from '../api-client/records.js';

/** An interface of a result. */
export interface CniInterface {
  name: string;
  mac: string;
  mtu?: number;
  /** The namespace path of a container interface. */
  sandbox?: string;
}

/** An address of a result; `interface` indexes `interfaces`. */
export interface CniIp {
  address: string;
  interface: number;
  gateway?: string;
}

/** An ADD's result. */
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: { dst: string; gw?: string }[];
}

/** `ip` with the prefix length of the network's subnet of its family (e.g. "198.19.1.2/24"). */
export function withPrefix(network: AgentNetwork, ip: string): string {
  const subnet = network.subnets.map((s) => parseCidr(s)).find((c) => c.family === ipFamily(ip));
  return subnet ? `${ip}/${subnet.prefix}` : `${ip}/${ipFamily(ip) === 6 ? 128 : 32}`;
}

/** The result for `endpoint` attached in `sandbox`, in the configuration's version. */
export function addResult(cniVersion: string, network: AgentNetwork, endpoint: AgentEndpoint, sandbox: string): CniResult {
  return {
    cniVersion,
    interfaces: [{ name: endpoint.ifname, mac: endpoint.mac, mtu: network.mtu, sandbox }],
    ips: endpoint.ips.map((ip) => ({ address: withPrefix(network, ip), interface: 0 })),
    routes: network.subnets.map((s) => ({ dst: parseCidr(s).text })),
  };
}

/** The addresses ("IP/PREFIX") a cached result lists, or undefined when it lists none we can read. */
export function resultAddresses(prevResult: Record<string, unknown> | undefined): string[] | undefined {
  const ips = prevResult?.ips;
  if (!Array.isArray(ips)) return undefined;
  const out = ips.map((x) => (typeof x === 'object' && x !== null ? (x as { address?: unknown }).address : undefined));
  return out.every((a): a is string => typeof a === 'string') ? out : undefined;
}

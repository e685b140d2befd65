/**
 * The control API's answers as its clients read them: the `--json` fields
 * (a contract, DESIGN.md §4.1) that the CNI and Docker plugins use, declared
 * here so the plugins depend on the API, not on the agent's code.
 */

/** A network as GET /v1/networks and GET /v1/networks/:name show it. */
export interface AgentNetwork {
  name: string;
  vni: number;
  subnets: string[];
  mtu: number;
  encrypted: boolean;
  /** Replicates broadcast and multicast (absent from agents before issue 14). */
  multicast?: boolean;
  /** Multicast networks: storm control, frames/s (0: no limit). */
  multicastRate?: number;
}

/** An endpoint as GET /v1/endpoints shows it. */
export interface AgentEndpoint {
  id: string;
  network: string;
  /** The first address (IPv4 when it has one). */
  ip: string;
  ips: string[];
  mac: string;
  ifname: string;
  netns: string;
  node: string;
  runtime: 'docker' | 'cni' | 'manual' | 'perf';
  container?: string;
}

/** An endpoint whose veth the runtime moves itself (POST and GET /v1/endpoints/movable). */
export interface AgentMovableEndpoint {
  endpoint: AgentEndpoint;
  /** The veth end waiting in the host's namespace for the runtime to move. */
  ifname: string;
  mtu: number;
}

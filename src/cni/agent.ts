/**
 * The agent as the CNI plugin sees it: the few control-API calls it makes
 * (src/agent/api.ts), over the shared HTTP client, with the agent's errors
 * turned into CNI errors. The shapes it reads are the API's (api-client/records.ts).
 */
import { ApiError, ControlClient } from '../api-client/client.js';
import type { AgentEndpoint, AgentNetwork } from '../api-client/records.js';
import { CniError, type CniErrorName } from './errors.js';

/** A row of GET /v1/fdb. */
export interface AgentFdbRow {
  mac: string;
  ip: string;
  origin: 'local' | 'static' | 'gossip';
}

/** What the agent's error codes mean to a CNI runtime. */
const AGENT_CODES: Record<string, CniErrorName> = {
  NETWORK_NOT_FOUND: 'INVALID_CONFIG',
  IP_OUTSIDE_SUBNET: 'INVALID_CONFIG',
  IP_IN_USE: 'ADDRESS_UNAVAILABLE',
  SUBNET_FULL: 'ADDRESS_UNAVAILABLE',
  MAC_CONFLICT: 'ADDRESS_UNAVAILABLE',
  LINK_EXISTS: 'ALREADY_ATTACHED',
  NETNS_NOT_FOUND: 'INVALID_ENVIRONMENT',
};

/** The plugin's connection to one agent; every method throws CniErrors only. */
export class AgentConnection {
  private readonly client: ControlClient;

  constructor(
    readonly socket: string,
    timeoutMs = 30_000,
  ) {
    this.client = new ControlClient(socket, timeoutMs);
  }

  /** The agent's node name (endpoints of other nodes are theirs to remove). */
  async node(): Promise<string> {
    const status = await this.call(() => this.client.get<{ name: string }>('/v1/status'), 'reading its status');
    return status.name;
  }

  /** The network `name`, or undefined when the agent has none by that name. */
  async network(name: string): Promise<AgentNetwork | undefined> {
    try {
      return await this.client.get<AgentNetwork>(`/v1/networks/${encodeURIComponent(name)}`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'NETWORK_NOT_FOUND') return undefined;
      throw this.translate(err, 'reading the network');
    }
  }

  /** The endpoints of network `name` across the cluster ([] when there is no such network). */
  async endpoints(name: string): Promise<AgentEndpoint[]> {
    try {
      return await this.client.get<AgentEndpoint[]>(`/v1/endpoints?network=${encodeURIComponent(name)}`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'NETWORK_NOT_FOUND') return [];
      throw this.translate(err, 'listing endpoints');
    }
  }

  /** The FDB rows of network `name` on this host. */
  fdb(name: string): Promise<AgentFdbRow[]> {
    return this.call(() => this.client.get<AgentFdbRow[]>(`/v1/fdb?network=${encodeURIComponent(name)}`), 'reading the FDB');
  }

  /** Attaches a container's namespace (POST /v1/endpoints, runtime "cni"). */
  attach(req: { network: string; netns: string; ifname: string; container: string; ips?: string[] }): Promise<AgentEndpoint> {
    return this.call(() => this.client.post<AgentEndpoint>('/v1/endpoints', { ...req, runtime: 'cni' }), 'attaching the container');
  }

  /** Detaches endpoint `id`; false when the agent no longer has it. */
  async detach(id: string): Promise<boolean> {
    try {
      await this.client.delete(`/v1/endpoints/${encodeURIComponent(id)}`);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ENDPOINT_NOT_FOUND') return false;
      throw this.translate(err, `detaching endpoint ${id}`);
    }
  }

  private async call<T>(fn: () => Promise<T>, doing: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.translate(err, doing);
    }
  }

  /** An agent that cannot be reached is "try again later" (11); its refusals map by code. */
  private translate(err: unknown, doing: string): CniError {
    if (!(err instanceof ApiError)) return new CniError('AGENT_REFUSED', `overlayd-cni failed ${doing}: ${(err as Error).message}`);
    if (err.unreachable) return new CniError('TRY_AGAIN_LATER', `the overlayd agent is not reachable: ${err.message}`, err.code);
    const kind = AGENT_CODES[err.code] ?? 'AGENT_REFUSED';
    return new CniError(kind, `the overlayd agent refused ${doing}: ${err.message}`, err.code);
  }
}

/**
 * The agent as the Docker plugin sees it: the control-API calls it makes
 * (src/agent/api.ts) over the shared client. The plugin runs as a process of
 * its own, so it is there even while the agent is not: then every call
 * fails at once with AGENT_DOWN and one line that says what to do, which
 * dockerd shows to the user instead of retrying a dead socket.
 *
 * The agent's refusals come through as the client's ApiErrors, whose `code`
 * is the agent's (IP_IN_USE, NETWORK_NOT_FOUND, …), so the drivers branch on
 * codes as they would inside the agent.
 */
import { ApiError, ControlClient } from '../api-client/client.js';
import type { AgentEndpoint, AgentMovableEndpoint, AgentNetwork } from '../api-client/records.js';
import { firstHost, parseCidr } from '../wire/index.js';
import { PluginError } from './server.js';

/** How long one call may wait for a running agent (dockerd's own plugin timeout is longer). */
const CALL_TIMEOUT_MS = 30_000;

/** What CreateNetwork asks the agent to create. */
export interface OverlayRequest {
  name: string;
  subnet: string;
  encrypted: boolean;
  vni?: number;
  /** Replicate broadcast and multicast (absent: off). */
  multicast?: boolean;
  multicastRate?: number;
}

export class AgentConnection {
  private readonly client: ControlClient;

  constructor(
    /** The agent's control socket. */
    readonly socket: string,
    timeoutMs = CALL_TIMEOUT_MS,
  ) {
    this.client = new ControlClient(socket, timeoutMs);
  }

  networks(): Promise<AgentNetwork[]> {
    return this.call(() => this.client.get<AgentNetwork[]>('/v1/networks'));
  }

  /** The overlayd network whose one subnet is `subnet` (Docker networks have one IPv4 subnet). */
  async networkOfSubnet(subnet: string): Promise<AgentNetwork | undefined> {
    return (await this.networks()).find((n) => n.subnets.length === 1 && n.subnets[0] === subnet);
  }

  createNetwork(r: OverlayRequest): Promise<AgentNetwork> {
    return this.call(() => this.client.post<AgentNetwork>('/v1/networks', { name: r.name, subnets: [r.subnet], encrypted: r.encrypted, vni: r.vni, multicast: r.multicast, multicastRate: r.multicastRate }));
  }

  /** Removes the overlay; false when it is gone already or still has endpoints somewhere. */
  async removeNetwork(name: string): Promise<boolean> {
    try {
      await this.call(() => this.client.delete(`/v1/networks/${encodeURIComponent(name)}`));
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'NETWORK_NOT_FOUND' || err.code === 'NETWORK_IN_USE')) return false;
      throw err;
    }
  }

  /** The endpoints of `network` on every host ([] when there is no such network). */
  async endpoints(network: string): Promise<AgentEndpoint[]> {
    try {
      return await this.call(() => this.client.get<AgentEndpoint[]>(`/v1/endpoints?network=${encodeURIComponent(network)}`));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'NETWORK_NOT_FOUND') return [];
      throw err;
    }
  }

  /** Holds an address of `network` on this host (`ip` pins it); resolves with it. */
  async reserveAddress(network: string, ip?: string, forever = false): Promise<string> {
    const body = { ip, family: 4, forever: forever || undefined };
    const r = await this.call(() => this.client.post<{ ip: string }>(`/v1/networks/${encodeURIComponent(network)}/reservations`, body));
    return r.ip;
  }

  /** Lets a held address go (nothing when the network is gone). */
  async releaseAddress(network: string, ip: string): Promise<void> {
    try {
      await this.call(() => this.client.delete(`/v1/networks/${encodeURIComponent(network)}/reservations/${encodeURIComponent(ip)}`));
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'NETWORK_NOT_FOUND')) throw err;
    }
  }

  /**
   * Holds the subnet's first address, the nominal gateway Docker's IPAM
   * reported (docs/docker.md "Gateway"), so no endpoint of this host is given
   * it. Held in the agent's memory: the plugin holds it again before each
   * address it asks for, so an agent restart does not lose it.
   */
  async holdGateway(network: string, subnet: string): Promise<void> {
    await this.reserveAddress(network, firstHost(parseCidr(subnet)), true).catch((err: unknown) => {
      // Held already, taken by an endpoint attached by hand (overlayctl), or the network is gone: nothing to hold.
      if (!(err instanceof ApiError && (err.code === 'IP_IN_USE' || err.code === 'NETWORK_NOT_FOUND'))) throw err;
    });
  }

  /** Creates the endpoint of Docker endpoint `container` on the held `ips`, a veth Docker moves itself. */
  attachMovable(network: string, ips: string[], container: string): Promise<AgentMovableEndpoint> {
    return this.call(() => this.client.post<AgentMovableEndpoint>('/v1/endpoints/movable', { network, ips, runtime: 'docker', container }));
  }

  /** This host's endpoint of Docker endpoint `container`, or undefined. */
  async movable(container: string): Promise<AgentMovableEndpoint | undefined> {
    try {
      return await this.call(() => this.client.get<AgentMovableEndpoint>(`/v1/endpoints/movable?runtime=docker&container=${encodeURIComponent(container)}`));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ENDPOINT_NOT_FOUND') return undefined;
      throw err;
    }
  }

  /** Removes endpoint `id` (nothing when it is gone already). */
  async detachEndpoint(id: string): Promise<void> {
    try {
      await this.call(() => this.client.delete(`/v1/endpoints/${encodeURIComponent(id)}`));
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'ENDPOINT_NOT_FOUND')) throw err;
    }
  }

  /** Runs one call; an agent that does not answer becomes AGENT_DOWN with a line for the user. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ApiError && err.unreachable)) throw err;
      if (err.code === 'TIMEOUT') throw new PluginError('AGENT_DOWN', `overlayd agent did not answer on ${this.socket} in time; check overlayd and retry`);
      throw new PluginError('AGENT_DOWN', `overlayd agent is not running (no answer on ${this.socket}); start overlayd and retry`);
    }
  }
}

/**
 * overlayd as a Docker legacy plugin: a libnetwork remote network driver and
 * IPAM driver, both named `overlayd`, on `<plugin dir>/overlayd.sock`, which
 * dockerd finds by name in /run/docker/plugins. A client of the agent's
 * control API like the CNI plugin: every call that needs the agent goes
 * through AgentConnection, so the plugin can run as a process of its own
 * (`overlayd-docker-plugin`) and keep answering while the agent is down —
 * with an error that says so. docs/docker.md has the whole flow.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AgentConnection } from './agent.js';
import { PendingCleanups } from './cleanups.js';
import { ipamCalls } from './ipam-driver.js';
import { NetworkDriver } from './network-driver.js';
import { DockerNetworks } from './networks.js';
import { AddressReuse, removal } from './removals.js';
import { PluginServer, type PluginCall } from './server.js';

/** Where dockerd looks for legacy plugin sockets. */
export const DEFAULT_PLUGIN_DIR = '/run/docker/plugins';
/** The plugin's name, as `-d overlayd` and `--ipam-driver overlayd` give it: its socket's name. */
export const PLUGIN_NAME = 'overlayd';

export interface DockerPluginOptions {
  /** The agent's control socket. */
  agentSocket: string;
  /** Where the Docker network mapping and the removals kept for the agent are (`docker-networks.json`, `docker-cleanups.json`; the agent's state folder by default). */
  stateDir: string;
  log: Pick<Logger, 'error' | 'warn' | 'info'>;
  /** Retry of kept removals while the agent is down: first after this many ms, doubling up to `retryMaxMs` (defaults 250, 2000). */
  retryFirstMs?: number;
  retryMaxMs?: number;
}

/**
 * The calls that read or change the agent's state: each first delivers the
 * removals kept while the agent was down, so it never sees what dockerd
 * removed already (an address of a removed container still held, say). The
 * removals themselves go through PendingCleanups.remove, which does the same.
 */
const AFTER_KEPT_REMOVALS = ['NetworkDriver.CreateNetwork', 'NetworkDriver.CreateEndpoint', 'NetworkDriver.Join', 'NetworkDriver.EndpointOperInfo', 'IpamDriver.RequestAddress'];

export class DockerPlugin {
  private readonly server: PluginServer;
  private readonly driver: NetworkDriver;
  /** The removals the agent could not take yet. */
  readonly cleanups: PendingCleanups;

  constructor(private readonly opts: DockerPluginOptions) {
    const agent = new AgentConnection(opts.agentSocket);
    const nets = new DockerNetworks(opts.stateDir);
    const reuse = new AddressReuse();
    const { stateDir, log, retryFirstMs, retryMaxMs } = opts;
    this.cleanups = new PendingCleanups({ stateDir, log, retryFirstMs, retryMaxMs, run: removal(agent, nets, reuse) });
    this.driver = new NetworkDriver(agent, nets, this.cleanups);
    const calls = new Map<string, PluginCall>([
      // Answered without the agent, so dockerd keeps the plugin while the agent is down.
      ['Plugin.Activate', () => ({ Implements: ['NetworkDriver', 'IpamDriver'] })],
      ...this.driver.calls(),
      ...ipamCalls(agent, this.cleanups, reuse),
    ]);
    for (const name of AFTER_KEPT_REMOVALS) {
      const call = calls.get(name)!;
      calls.set(name, async (b) => {
        await this.cleanups.settle();
        return call(b);
      });
    }
    this.server = new PluginServer(calls, (call, err) => {
      const code = (err as { code?: unknown }).code;
      // Refusals with a code are the user's to read in docker's output; anything else is ours.
      if (typeof code === 'string') opts.log.error({ call, code, err: err.message }, 'docker plugin call refused');
      else opts.log.error({ call, err }, 'docker plugin call failed');
    });
  }

  /**
   * Serves the plugin API on `<dir>/overlayd.sock`; resolves with the socket's
   * path. Holds the gateways of the mapped networks again when the agent
   * answers (it need not: the plugin starts without it).
   */
  async listen(dir = DEFAULT_PLUGIN_DIR): Promise<string> {
    await this.driver.restore().catch((err: Error) => this.opts.log.warn({ err: err.message }, 'gateways not held yet (held again with the next address asked for)'));
    const socket = join(dir, `${PLUGIN_NAME}.sock`);
    await this.server.listen(socket);
    return socket;
  }

  /** Stops serving and retrying (kept removals stay in the state folder for the next start). */
  close(): Promise<void> {
    this.cleanups.close();
    return this.server.close();
  }
}

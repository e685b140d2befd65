/**
 * overlayd as a Docker legacy plugin: a libnetwork remote network driver and
 * IPAM driver, both named `overlayd`, served by the agent itself
 * (`overlayd --docker-plugin`) on `<plugin dir>/overlayd.sock`, which dockerd
 * finds by name in /run/docker/plugins. A front-end beside the control API:
 * every call goes through AgentOperations. docs/docker.md has the whole flow.
 */
import { join } from 'node:path';
import type { AgentOperations } from '../operations.js';
import { ipamCalls } from './ipam-driver.js';
import { NetworkDriver } from './network-driver.js';
import { DockerNetworks } from './networks.js';
import { PluginServer, type PluginCall } from './plugin-server.js';

/** Where dockerd looks for legacy plugin sockets. */
export const DEFAULT_PLUGIN_DIR = '/run/docker/plugins';
/** The plugin's name, as `-d overlayd` and `--ipam-driver overlayd` give it: its socket's name. */
export const PLUGIN_NAME = 'overlayd';

export class DockerPlugin {
  private readonly server: PluginServer;
  private readonly driver: NetworkDriver;

  /**
   * @param ops the agent
   * @param stateDir the agent's state folder (the Docker network mapping is kept there)
   */
  constructor(ops: AgentOperations, stateDir: string) {
    this.driver = new NetworkDriver(ops, new DockerNetworks(stateDir));
    const calls = new Map<string, PluginCall>([
      ['Plugin.Activate', () => ({ Implements: ['NetworkDriver', 'IpamDriver'] })],
      ...this.driver.calls(),
      ...ipamCalls(ops),
    ]);
    this.server = new PluginServer(calls, (call, err) => {
      const code = (err as { code?: unknown }).code;
      // Refusals with a code are the user's to read in docker's output; anything else is ours.
      if (typeof code === 'string') ops.log.error({ call, code, err: err.message }, 'docker plugin call refused');
      else ops.log.error({ call, err }, 'docker plugin call failed');
    });
  }

  /** Serves the plugin API on `<dir>/overlayd.sock`; resolves with the socket's path. */
  async listen(dir = DEFAULT_PLUGIN_DIR): Promise<string> {
    await this.driver.restore();
    const socket = join(dir, `${PLUGIN_NAME}.sock`);
    await this.server.listen(socket);
    return socket;
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

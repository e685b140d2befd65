/**
 * overlayd-docker-plugin beside a test's agents, as users run it: one per
 * Docker host, serving that host's plugin folder (dockerd.ts) and asking
 * that host's agent through its control socket. It keeps running while the
 * agent is stopped and started again.
 */
import { join, resolve } from 'node:path';
import { dockerPluginDir } from './dockerd.js';
import type { AgentHandle } from './agents.js';
import type { ManagedProcess } from './process.js';
import type { Topology } from './topology.js';

export const DOCKER_PLUGIN = join(resolve(import.meta.dirname, '../..'), 'dist/src/cli/overlayd-docker-plugin.js');

export class DockerPluginHandle {
  process!: ManagedProcess;

  constructor(
    readonly topology: Topology,
    readonly agent: AgentHandle,
    /** The folder its socket `overlayd.sock` is in. */
    readonly pluginDir: string,
  ) {}

  /** Starts it (in the agent's namespace host, though it needs none) and waits until it listens. */
  async start(): Promise<void> {
    const cmd = [process.execPath, DOCKER_PLUGIN, '--plugin-dir', this.pluginDir, '--socket', this.agent.socket, '--state-dir', this.agent.stateDir];
    this.process = this.topology.spawn(this.agent.ns, cmd);
    await this.process.waitForLine(/docker plugin listening|overlayd-docker-plugin: /, 20_000);
    const failed = this.process.log().match(/overlayd-docker-plugin: .*/);
    if (failed) throw new Error(`docker plugin of ${this.agent.name} failed to start: ${failed[0]}`);
  }

  async stop(): Promise<void> {
    await this.process?.stop('SIGTERM', 3000);
  }
}

/** Starts a plugin for each agent, serving {@link dockerPluginDir}(base, its host); stops those started when one fails. */
export async function startDockerPlugins(topo: Topology, base: string, agents: AgentHandle[]): Promise<DockerPluginHandle[]> {
  const plugins = agents.map((a) => new DockerPluginHandle(topo, a, dockerPluginDir(base, a.hostIndex)));
  const results = await Promise.allSettled(plugins.map((p) => p.start()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return plugins;
  await Promise.all(plugins.map((p) => p.stop()));
  throw failed.reason;
}

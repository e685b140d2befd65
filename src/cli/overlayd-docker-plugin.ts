#!/usr/bin/env node
/**
 * `overlayd-docker-plugin`: Docker's network and IPAM plugin (src/docker-plugin/)
 * as a small process of its own, beside the agent. It serves dockerd's plugin
 * socket and asks the agent through its control socket; it stays up while
 * the agent restarts, so dockerd gets a clear error at once instead of a
 * dead socket, and removals dockerd asks for meanwhile are kept and delivered
 * once the agent is back. docs/docker.md shows a systemd unit.
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { DEFAULTS } from '../agent/config.js';
import { DEFAULT_PLUGIN_DIR, DockerPlugin } from '../docker-plugin/plugin.js';

async function main(): Promise<void> {
  const o = new Command('overlayd-docker-plugin')
    .description("overlayd's Docker network and IPAM driver (\"overlayd\"), a client of the agent's control API")
    .option('--plugin-dir <dir>', 'where dockerd looks for plugin sockets', DEFAULT_PLUGIN_DIR)
    .option('--socket <path>', "the agent's control API socket", DEFAULTS.socket)
    .option('--state-dir <dir>', 'where the Docker network mapping and the removals kept while the agent is down are (docker-networks.json, docker-cleanups.json)', DEFAULTS.stateDir)
    .option('--log-level <level>', 'trace, debug, info, warn, error', DEFAULTS.logLevel)
    .parse()
    .opts();
  const log = pino({ level: o.logLevel, base: { component: 'docker-plugin' } }, pino.destination(2));
  const plugin = new DockerPlugin({ agentSocket: o.socket, stateDir: o.stateDir, log });
  log.info({ socket: await plugin.listen(o.pluginDir), agent: o.socket }, 'docker plugin listening');

  const stop = async (signal: string): Promise<void> => {
    log.info({ signal }, 'stopping');
    await plugin.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`overlayd-docker-plugin: ${err.message}\n`);
  process.exit(1);
});

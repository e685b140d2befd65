/** `overlayd`: the node agent. Flags as DESIGN.md §4.1. Started by overlayd.cts. */
import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { Agent } from '../agent/agent.js';
import { ControlApi } from '../agent/api.js';
import { ConfigError, DEFAULTS, validateConfig, type AgentConfig } from '../agent/config.js';
import { startMetrics } from '../agent/metrics.js';
import { DEFAULT_PLUGIN_DIR, DockerPlugin } from '../docker-plugin/plugin.js';

const int = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new ConfigError(`"${v}" is not a number`);
  return Number(v);
};

function gossipKey(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  const text = existsSync(value) ? readFileSync(value, 'utf8').trim() : value;
  const key = Buffer.from(text, 'base64');
  if (key.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) throw new ConfigError('--gossip-key is not valid base64');
  return key;
}

async function main(): Promise<void> {
  const program = new Command('overlayd')
    .description('overlayd node agent: a userspace VXLAN overlay for container hosts')
    .requiredOption('--name <node>', 'node name, unique in the cluster')
    .requiredOption('--advertise-addr <ip>', 'underlay address other hosts reach this one at')
    .option('--listen-addr <ip>', 'address to bind (default: the advertise address)')
    .option('--gossip-port <port>', 'gossip port, TCP and UDP', String(DEFAULTS.gossipPort))
    .option('--data-port <port>', 'VXLAN port', String(DEFAULTS.dataPort))
    .option('--esp-port <port>', 'ESP-in-UDP port of encrypted networks (carrier udp)', String(DEFAULTS.espPort))
    .option('--key-rotation-interval <seconds>', 'rotate the keys of encrypted networks this often (0: only on demand)', String(DEFAULTS.keyRotationIntervalS))
    .option('--join <hosts>', 'HOST[:PORT],... to join at start', '')
    .option('--gossip-key <key>', 'gossip encryption key: base64 of 16, 24 or 32 bytes, or a file holding it')
    .option('--state-dir <dir>', 'where state is kept between runs', DEFAULTS.stateDir)
    .option('--socket <path>', 'control API unix socket', DEFAULTS.socket)
    .option('--datapath <kind>', 'native or js', DEFAULTS.datapath)
    .option('--workers <n>', 'native data path threads, each with its own TAP queue and sockets (default: the online CPUs)')
    .option('--realtime-workers', 'native: run the workers SCHED_FIFO (lowest priority) instead of nice -10')
    .option('--busy-poll-us <us>', 'native: keep polling this long after traffic while a CPU is free, instead of sleeping (0: off)', '200')
    .option('--metrics-addr <host:port>', 'serve Prometheus metrics here')
    .option('--peer-probe-interval <seconds>', 'probe every remote VTEP over the data path this often (overlayctl peers; 0: off)', '1')
    .option('--query-interval <seconds>', 'multicast networks: IGMP/MLD general query interval of the querier (RFC 3376: 125); memberships last 2 intervals + the response time', '125')
    .option('--docker-plugin', "also serve Docker's plugin API from this process (down while the agent is; overlayd-docker-plugin is not)")
    .option('--docker-plugin-dir <dir>', 'where dockerd looks for plugin sockets', DEFAULT_PLUGIN_DIR)
    .option('--ca <file>', 'the cluster CA certificate: sign what this node owns, check what others announce (docs/identity.md)')
    .option('--cert <file>', "this node's certificate (overlayctl ca sign)")
    .option('--key <file>', "this node's key")
    .option('--require-signed', 'refuse unsigned entries of every node (after the migration: docs/identity.md)')
    .option('--log-level <level>', 'trace, debug, info, warn, error', DEFAULTS.logLevel)
    .parse();
  const o = program.opts();
  const config: AgentConfig = validateConfig({
    name: o.name,
    advertiseAddr: o.advertiseAddr,
    listenAddr: o.listenAddr ?? o.advertiseAddr,
    gossipPort: int(o.gossipPort),
    dataPort: int(o.dataPort),
    espPort: int(o.espPort),
    keyRotationIntervalS: int(o.keyRotationInterval),
    join: String(o.join).split(',').filter(Boolean),
    gossipKey: gossipKey(o.gossipKey),
    stateDir: o.stateDir,
    socket: o.socket,
    datapath: o.datapath,
    workers: o.workers === undefined ? undefined : int(o.workers),
    busyPollUs: int(o.busyPollUs),
    realtimeWorkers: o.realtimeWorkers === true,
    metricsAddr: o.metricsAddr,
    peerProbeIntervalS: Number(o.peerProbeInterval),
    queryIntervalS: Number(o.queryInterval),
    logLevel: o.logLevel,
    ca: o.ca,
    cert: o.cert,
    key: o.key,
    requireSigned: o.requireSigned === true,
  });

  const agent = new Agent(config);
  await agent.start();
  const api = new ControlApi(agent);
  await api.listen(config.socket);
  const metrics = config.metricsAddr ? await startMetrics(agent, config.metricsAddr) : undefined;
  // The same plugin as overlayd-docker-plugin, hosted here: a client of the control API just opened.
  const docker = o.dockerPlugin ? new DockerPlugin({ agentSocket: config.socket, stateDir: config.stateDir, log: agent.log }) : undefined;
  if (docker) agent.log.info({ socket: await docker.listen(o.dockerPluginDir) }, 'docker plugin listening');
  agent.log.info({ socket: config.socket }, 'control API listening');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    agent.log.info({ signal }, 'stopping');
    metrics?.close();
    await docker?.close();
    await api.close();
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`overlayd: ${err.message}\n`);
  process.exit(1);
});

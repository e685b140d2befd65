/**
 * overlayd as a benchmark row: an agent on each of the two hosts, one
 * network, one container per host — the same shape as the kernel VXLAN and
 * wireguard-go rows, so the suite measures them alike.
 *
 * A plain network uses static peers (no gossip). An encrypted one needs the
 * cluster: the two agents join by gossip with a gossip key, the network
 * (and its keys) is created on host 1 and reaches host 2 by gossip, and the
 * endpoints learn each other the same way.
 *
 * Its CPU cost is that of the two agent processes (all their threads).
 */
import { randomBytes } from 'node:crypto';
import type { Topology } from '../../src/testkit/topology.js';
import {
  crossPeer,
  OVERLAYD,
  removeAgentDirs,
  startAgents,
  startCluster,
  waitFor,
  type AgentHandle,
  type AgentOptions,
  type Endpoint,
} from '../../src/testkit/agents.js';
import { findTunnelProcess, processesCpuSeconds } from './cpu.js';
import type { BenchOverlay } from './overlay.js';

/** Options of {@link overlaydOverlay}. */
export interface OverlaydOptions {
  datapath: 'native' | 'js';
  /** Row name (default {@link overlaydRowName}: "overlayd <datapath>", "… ESP/<carrier>" when encrypted, "… --workers N"). */
  name?: string;
  /** Make the network encrypted (ESP, AES-GCM) with this carrier and key size (default 128 bits). */
  encrypted?: { carrier: 'ip' | 'udp'; keyBits?: 128 | 256 };
  /** Data-path worker threads of each agent (`--workers N`); default: the agent's own default. */
  workers?: number;
  /** The agents' `--busy-poll-us` (adaptive busy polling; 0: off); default: the agent's own default. */
  busyPollUs?: number;
  /** The agents' `--realtime-workers` (SCHED_FIFO workers). */
  realtime?: boolean;
}

const NETWORK = 'bench';
const SUBNET = '198.19.200.0/24';

/** Builds the overlayd row on hosts 1 and 2 of `topology`. */
export async function overlaydOverlay(topology: Topology, opts: OverlaydOptions): Promise<BenchOverlay> {
  const enc = opts.encrypted;
  const agentOptions = overlaydAgentOptions(opts);
  const agents: AgentHandle[] = enc
    ? await startCluster(topology, { ...agentOptions, gossipKey: randomBytes(16).toString('base64') }, [1, 2])
    : await startAgents(topology, agentOptions, [1, 2]);
  const containers: { remove(): Promise<void> }[] = [];
  const destroy = async (): Promise<void> => {
    for (const a of agents) await a.stop();
    for (const c of containers) await c.remove();
    removeAgentDirs(agents);
  };
  try {
    if (enc) {
      const esp = ['--encrypted', '--esp-carrier', enc.carrier, '--esp-key-bits', String(enc.keyBits ?? 128)];
      await agents[0].ctl('network', 'create', NETWORK, '--subnet', SUBNET, ...esp);
      await waitFor('the network on host 2', async () => (await agents[1].ctl<unknown[]>('network', 'ls')).length === 1, 10_000);
    } else {
      for (const a of agents) await a.ctl('network', 'create', NETWORK, '--subnet', SUBNET, '--vni', '4999');
    }
    const eps: Endpoint[] = [];
    const tag = `b${opts.datapath[0]}${enc ? `e${enc.carrier[0]}` : ''}${opts.workers === undefined ? '' : `w${opts.workers}`}${opts.busyPollUs === undefined ? '' : `p${opts.busyPollUs}`}${opts.realtime ? 'rt' : ''}`;
    for (const [i, a] of agents.entries()) {
      const c = await topology.container(i + 1, tag);
      containers.push(c);
      eps.push(await a.ctl<Endpoint>('endpoint', 'attach', NETWORK, '--netns', c.ns, '--ip', `198.19.200.${i + 10}`));
    }
    if (enc) {
      await waitFor('both endpoints in both FDBs', async () => {
        for (const a of agents) if ((await a.ctl<unknown[]>('fdb', NETWORK)).length < 2) return false;
        return true;
      }, 20_000);
    } else {
      await crossPeer(agents, NETWORK, eps);
    }
    const pids = agents.map((a) => findTunnelProcess(a.process.pid, (argv) => argv[1] === OVERLAYD, `overlayd (${a.name})`));
    return {
      name: opts.name ?? overlaydRowName(opts),
      client: { ns: eps[0].netns, addr4: eps[0].ip },
      server: { ns: eps[1].netns, addr4: eps[1].ip },
      cpuSeconds: processesCpuSeconds(pids),
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** The agent flags a row asks for beyond the defaults: `--workers N`, `--busy-poll-us N`. */
function rowFlags(opts: OverlaydOptions): string[] {
  return [
    ...(opts.workers === undefined ? [] : ['--workers', String(opts.workers)]),
    ...(opts.busyPollUs === undefined ? [] : ['--busy-poll-us', String(opts.busyPollUs)]),
    ...(opts.realtime ? ['--realtime-workers'] : []),
  ];
}

/** The agents' options for a row: its data path, and its flags when asked. */
export function overlaydAgentOptions(opts: OverlaydOptions): AgentOptions {
  const flags = rowFlags(opts);
  return { datapath: opts.datapath, ...(flags.length === 0 ? {} : { extraArgs: flags }) };
}

/** The default row name: "overlayd <datapath>[ ESP/<carrier>] [its flags]". */
export function overlaydRowName(opts: OverlaydOptions): string {
  const enc = opts.encrypted ? ` ESP/${opts.encrypted.carrier}` : '';
  return [`overlayd ${opts.datapath}${enc}`, ...rowFlags(opts)].join(' ');
}

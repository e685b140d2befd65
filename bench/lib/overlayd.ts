/**
 * overlayd as a benchmark row: an agent on each of the two hosts, one
 * network, one container per host, static peers — the same shape as the
 * kernel VXLAN and wireguard-go rows, so the suite measures them alike.
 */
import type { Topology } from '../../test/helpers/topology.js';
import { crossPeer, removeAgentDirs, startAgents, type Endpoint } from '../../test/e2e/agents.js';
import type { BenchOverlay } from './overlay.js';

export interface OverlaydOptions {
  datapath: 'native' | 'js';
  /** Row name (default "overlayd <datapath>"). */
  name?: string;
}

export async function overlaydOverlay(topology: Topology, opts: OverlaydOptions): Promise<BenchOverlay> {
  const agents = await startAgents(topology, { datapath: opts.datapath }, [1, 2]);
  const containers: { remove(): Promise<void> }[] = [];
  const destroy = async (): Promise<void> => {
    for (const a of agents) await a.stop();
    for (const c of containers) await c.remove();
    removeAgentDirs(agents);
  };
  try {
    const eps: Endpoint[] = [];
    for (const [i, a] of agents.entries()) {
      await a.ctl('network', 'create', 'bench', '--subnet', '198.19.200.0/24', '--vni', '4999');
      const c = await topology.container(i + 1, `b${opts.datapath[0]}`);
      containers.push(c);
      eps.push(await a.ctl<Endpoint>('endpoint', 'attach', 'bench', '--netns', c.ns, '--ip', `198.19.200.${i + 10}`));
    }
    await crossPeer(agents, 'bench', eps);
    return {
      name: opts.name ?? `overlayd ${opts.datapath}`,
      client: { ns: eps[0].netns, addr4: eps[0].ip },
      server: { ns: eps[1].netns, addr4: eps[1].ip },
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}

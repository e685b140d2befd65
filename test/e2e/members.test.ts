/**
 * overlayd agents find each other by gossip (--join) and report members
 * through `overlayctl members --json`: a killed agent is declared dead, a
 * stopped one has left; with --gossip-key an agent holding another key
 * cannot join.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { removeAgentDirs, startAgents, tearDown, waitFor, type AgentHandle } from '../../src/testkit/agents.js';

const ready = requirement(haveRoot() && haveTools('ip'), 'gossip e2e needs root and ip');

interface Member {
  name: string;
  addr: string;
  port: number;
  state: 'alive' | 'suspect' | 'dead' | 'left';
  incarnation: number;
}

const stateOf = async (a: AgentHandle, name: string) => (await a.ctl<Member[]>('members')).find((m) => m.name === name)?.state;

describe.skipIf(!ready)('agents join by gossip', () => {
  let topo: Topology;
  let agents: AgentHandle[] = [];
  const key = randomBytes(32).toString('base64');

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 4 });
    const first = await startAgents(topo, { datapath: 'js', extraArgs: ['--gossip-key', key] }, [1]);
    const rest = await startAgents(topo, { datapath: 'js', extraArgs: ['--gossip-key', key, '--join', topo.host(1).addr4!] }, [2, 3]);
    agents = [...first, ...rest];
  }, 60_000);

  afterAll(() => tearDown(topo, agents));

  it('every agent sees every other as alive', async () => {
    for (const a of agents) {
      const members = await waitFor('3 alive members', async () => {
        const m = await a.ctl<Member[]>('members');
        return m.filter((x) => x.state === 'alive').length === 3 ? m : undefined;
      }, 30_000);
      expect(members.map((m) => m.name)).toEqual(['node1', 'node2', 'node3']);
      expect(members.find((m) => m.name === 'node2')!).toMatchObject({ addr: topo.host(2).addr4, port: 7946 });
    }
  });

  it('an agent with another key cannot join', async () => {
    const [stranger] = await startAgents(topo, { datapath: 'js', extraArgs: ['--gossip-key', randomBytes(32).toString('base64'), '--join', topo.host(1).addr4!] }, [4]);
    try {
      // Its join has been tried and refused (it goes on retrying).
      await waitFor('the stranger\'s join refused', async () => /join failed/.test(stranger.log()), 10_000);
      expect((await agents[0].ctl<Member[]>('members')).map((m) => m.name)).not.toContain('node4');
      expect((await stranger.ctl<Member[]>('members')).map((m) => m.name)).toEqual(['node4']);
    } finally {
      await stranger.stop();
      removeAgentDirs([stranger]);
    }
  });

  it('a stopped agent has left; a killed one is declared dead', async () => {
    await agents[2].stop();
    await waitFor('node3 left', async () => ((await stateOf(agents[0], 'node3')) === 'left' ? true : undefined), 10_000);
    agents[1].process.signal('SIGKILL');
    await waitFor('node2 dead', async () => ((await stateOf(agents[0], 'node2')) === 'dead' ? true : undefined), 30_000);
  }, 60_000);
});

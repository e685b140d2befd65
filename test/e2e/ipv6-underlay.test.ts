/**
 * An IPv6 underlay: agents advertise IPv6 addresses, the overlay MTU
 * defaults to the underlay's 1500 − 70, and IPv4 and IPv6 overlays both work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { crossPeer, nsExec, ping, pingRaw, startAgents, tearDown, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';

const ready = requirement(haveRoot() && haveTools('ip', 'ping'), 'IPv6 underlay test needs root, ip and ping');

describe.skipIf(!ready).each(['native', 'js'] as const)('IPv6 underlay, %s data path', (datapath) => {
  let topo: Topology;
  let agents: AgentHandle[];
  const eps: Endpoint[] = [];

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 2, underlay: 'ipv6' });
    agents = await startAgents(topo, { datapath, ipv6: true });
    for (const a of agents) await a.ctl('network', 'create', 'six', '--subnet', '198.19.6.0/24', '--subnet', '2001:db8:6::/64', '--vni', '4600');
    for (const i of [1, 2]) {
      const c = await topo.container(i, 'c');
      eps.push(await agents[i - 1].ctl<Endpoint>('endpoint', 'attach', 'six', '--netns', c.ns, '--ip', `198.19.6.${i + 1}`, '--ip', `2001:db8:6::${i + 1}`));
    }
    await crossPeer(agents, 'six', eps);
  }, 60_000);

  afterAll(() => tearDown(topo, agents));

  it('defaults the overlay MTU to the underlay MTU less 70', async () => {
    const [net] = await agents[0].ctl<{ mtu: number }[]>('network', 'ls');
    expect(net.mtu).toBe(1430);
  });

  it('carries IPv4 and IPv6 overlay traffic both ways', async () => {
    await ping(eps[0].netns, eps[1].ips[0]);
    await ping(eps[0].netns, eps[1].ips[1]);
    await ping(eps[1].netns, eps[0].ips[0]);
    await ping(eps[1].netns, eps[0].ips[1]);
  });

  it('fits exactly the overlay MTU and answers one byte more with fragmentation-needed', async () => {
    await ping(eps[0].netns, eps[1].ip, ['-s', String(1430 - 28), '-M', 'do']);
    await nsExec(eps[0].netns, ['ip', 'link', 'set', 'eth0', 'mtu', '1500']);
    const r = await pingRaw(eps[0].netns, eps[1].ip, ['-s', String(1430 - 27), '-M', 'do']);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/mtu ?= ?1430/);
  });
});

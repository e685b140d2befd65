/**
 * Bad commands get one clear line on stderr and a non-zero exit, and change
 * nothing: the agent's networks, endpoints and tables are the same after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { ControlClient } from '../../src/api-client/client.js';
import { OVERLAYCTL, OVERLAYD, run, startAgents, tearDown, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';

const ready = requirement(haveRoot() && haveTools('ip'), 'control tests need root and ip');

describe.skipIf(!ready)('overlayctl refuses bad input and changes nothing', () => {
  let topo: Topology;
  let agent: AgentHandle;
  let container: string;
  const api = () => new ControlClient(agent.socket);

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 1 });
    [agent] = await startAgents(topo, { datapath: 'js' });
    await agent.ctl('network', 'create', 'blue', '--subnet', '198.19.1.0/24', '--vni', '4200');
    container = (await topo.container(1, 'c')).ns;
    await agent.ctl<Endpoint>('endpoint', 'attach', 'blue', '--netns', container, '--ip', '198.19.1.10');
  }, 60_000);

  afterAll(() => tearDown(topo, [agent]));

  // Read through the API directly (what overlayctl shows), one process spawn less per case.
  const state = async () => ({
    networks: await api().get('/v1/networks'),
    endpoints: await api().get('/v1/endpoints'),
    fdb: await api().get('/v1/fdb'),
    links: (await run(['ip', 'netns', 'exec', topo.host(1).ns, 'ip', '-o', 'link', 'show'])).stdout.replace(/\s+state \S+/g, ''),
  });

  const cases: [string, string[], RegExp][] = [
    ['an unknown network', ['endpoint', 'attach', 'nosuch', '--netns', 'x'], /no network named nosuch/],
    ['an overlapping subnet', ['network', 'create', 'red', '--subnet', '198.19.1.128/25'], /overlaps 198\.19\.1\.0\/24/],
    ['a duplicate network name', ['network', 'create', 'blue', '--subnet', '198.19.9.0/24'], /already exists/],
    ['a VNI already taken', ['network', 'create', 'green', '--subnet', '198.19.8.0/24', '--vni', '4200'], /VNI 4200/],
    ['a malformed subnet', ['network', 'create', 'red', '--subnet', '198.19.300.0/24'], /invalid subnet/],
    ['a duplicate IP', ['endpoint', 'attach', 'blue', '--netns', 'CONTAINER', '--ip', '198.19.1.10'], /198\.19\.1\.10 is already in use/],
    ['an IP outside the subnet', ['endpoint', 'attach', 'blue', '--netns', 'CONTAINER', '--ip', '198.19.2.10'], /not a usable address/],
    ['a malformed IP', ['endpoint', 'attach', 'blue', '--netns', 'CONTAINER', '--ip', '198.19.1.300'], /invalid IP address/],
    ['a missing namespace', ['endpoint', 'attach', 'blue', '--netns', 'ovt-no-such-ns'], /network namespace ovt-no-such-ns does not exist/],
    ['an existing interface name', ['endpoint', 'attach', 'blue', '--netns', 'CONTAINER', '--ifname', 'lo'], /already exists/],
    ['a malformed MAC', ['peer', 'add', 'blue', '--ip', '198.19.1.20', '--mac', '02:42:zz:00:00:01', '--vtep', '198.18.0.9'], /invalid MAC/],
    ['a malformed VTEP', ['peer', 'add', 'blue', '--ip', '198.19.1.20', '--mac', '02:42:00:00:00:01', '--vtep', 'host'], /invalid IP address "host"/],
    ['a removal of a network in use', ['network', 'rm', 'blue'], /endpoint\(s\) attached/],
    ['an unknown endpoint', ['endpoint', 'detach', 'ffffffff'], /no endpoint with id/],
    ['an unknown peer', ['peer', 'rm', 'blue', '--ip', '198.19.1.77'], /no static peer/],
    ['a non-numeric VNI', ['network', 'create', 'red', '--subnet', '198.19.7.0/24', '--vni', 'x'], /not a number/],
  ];

  it.each(cases)('refuses %s with one line and a non-zero exit', async (_what, args, message) => {
    const before = await state();
    const r = await agent.ctlRaw(...args.map((a) => (a === 'CONTAINER' ? container : a)));
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stdout).toBe('');
    expect(await state()).toEqual(before);
  });

  it('says in one line when no agent is listening', async () => {
    const r = await run([process.execPath, OVERLAYCTL, '--socket', '/nonexistent/ovt.sock', 'status']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('overlayctl: no agent is listening on /nonexistent/ovt.sock');
  });

  it('overlayd refuses bad flags in one line', async () => {
    const r = await run([process.execPath, OVERLAYD, '--name', 'n1', '--advertise-addr', 'not-an-ip', '--socket', '/tmp/ovt-x.sock']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('overlayd: --advertise-addr must be an IP address, got "not-an-ip"');
  });
});

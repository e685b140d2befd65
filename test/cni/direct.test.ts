/**
 * The CNI plugin driven directly, as a runtime drives it (environment +
 * stdin), against real agents on two namespace hosts: ADD gives a container
 * namespace its interface and it pings an endpoint on the other host; CHECK,
 * DEL (idempotent, also without CNI_NETNS and after the namespace is gone),
 * STATUS and GC do what the spec says; and every bad input gets its code and
 * one message and changes nothing — not the agents' endpoints, not a link.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology, type ContainerNamespace } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { ping, run, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import { runCni, type CniCall } from '../../src/testkit/cni.js';

const ready = requirement(haveRoot() && haveTools('ip', 'ping', 'nsenter'), 'CNI e2e needs root, ip, ping and nsenter');
const SUBNET = '198.19.60.0/24';

describe.skipIf(!ready)('overlayd-cni against real agents', () => {
  let topo: Topology;
  let agents: AgentHandle[] = [];
  let remote: Endpoint;
  const c: Record<string, ContainerNamespace> = {};
  const conf = (extra: Record<string, unknown> = {}, cniVersion = '1.0.0') => ({ cniVersion, name: 'blue', type: 'overlayd-cni', socket: agents[0].socket, ...extra });
  const netns = (name: string) => `/var/run/netns/${c[name].ns}`;
  const cni = (call: Partial<CniCall> & { command: string }) => runCni(topo.host(1).ns, { config: conf(), ifname: 'eth0', ...call });
  const add = (name: string, extra: Record<string, unknown> = {}) => cni({ command: 'ADD', containerId: `ctr-${name}`, netns: netns(name), config: conf(extra) });
  const cniEndpoints = async (a: AgentHandle) => (await a.ctl<Endpoint[]>('endpoint', 'ls', 'blue')).filter((e) => e.runtime === 'cni');
  const links = async (ns: string) => (await run(['ip', 'netns', 'exec', ns, 'ip', '-o', 'link', 'show'])).stdout.replace(/\s+state \S+/g, '');
  /** Everything a bad call must leave alone. */
  const state = async (localOnly = false) => ({
    endpoints: (await agents[0].ctl<Endpoint[]>('endpoint', 'ls'))
      .filter((e) => !localOnly || e.node === 'node1')
      .map((e) => e.id)
      .sort(),
    host: await links(topo.host(1).ns),
    containers: await Promise.all(Object.keys(c).map((k) => links(c[k].ns))),
  });

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 2 });
    agents = await startCluster(topo, { datapath: 'native' }, [1, 2]);
    await agents[0].ctl('network', 'create', 'blue', '--subnet', SUBNET);
    await waitFor('blue on node2', async () => (await agents[1].ctl<unknown[]>('network', 'ls')).length === 1, 10_000);
    for (const name of ['a', 'b', 'd', 'e', 'gone']) c[name] = await topo.container(1, name);
    c.remote = await topo.container(2, 'remote');
    remote = await agents[1].ctl<Endpoint>('endpoint', 'attach', 'blue', '--netns', c.remote.ns);
    await waitFor('the remote endpoint on node1', async () => (await agents[0].ctl<Endpoint[]>('endpoint', 'ls')).some((e) => e.id === remote.id), 10_000);
  }, 120_000);

  afterAll(() => tearDown(topo, agents));

  it('VERSION names 1.0.0 and 1.1.0; STATUS succeeds silently while the agent has the network', async () => {
    const v = await cni({ command: 'VERSION', config: { cniVersion: '1.0.0' } });
    expect(v).toMatchObject({ code: 0, json: { cniVersion: '1.1.0', supportedVersions: ['1.0.0', '1.1.0'] } });
    const s = await cni({ command: 'STATUS', config: conf({}, '1.1.0') });
    expect(s).toMatchObject({ code: 0, stdout: '' });
  });

  it('ADD gives the container its interface, the result describes it, and it pings the other host', async () => {
    const r = await add('a');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [ep] = await cniEndpoints(agents[0]);
    const mtu = (await agents[0].ctl<{ mtu: number }>('network', 'inspect', 'blue')).mtu;
    expect(ep).toMatchObject({ runtime: 'cni', container: 'ctr-a', ifname: 'eth0', netns: netns('a'), node: 'node1' });
    expect(r.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', mac: ep.mac, mtu, sandbox: netns('a') }],
      ips: [{ address: `${ep.ip}/24`, interface: 0 }],
      routes: [{ dst: SUBNET }],
    });
    const inside = JSON.parse((await run(['ip', 'netns', 'exec', c.a.ns, 'ip', '-json', 'addr', 'show', 'eth0'])).stdout)[0];
    expect(inside).toMatchObject({ address: ep.mac, mtu, addr_info: expect.arrayContaining([expect.objectContaining({ local: ep.ip, prefixlen: 24 })]) });
    await waitFor('the CNI endpoint on node2', async () => (await cniEndpoints(agents[1])).some((e) => e.container === 'ctr-a'), 5_000);
    await ping(c.a.ns, remote.ip);
    await ping(c.remote.ns, ep.ip);
  });

  it('CHECK passes on what ADD made, with its result as prevResult', async () => {
    const [ep] = await cniEndpoints(agents[0]);
    const r = await cni({ command: 'CHECK', containerId: 'ctr-a', netns: netns('a'), config: conf({ prevResult: { cniVersion: '1.0.0', ips: [{ address: `${ep.ip}/24`, interface: 0 }] } }) });
    expect(r, r.stdout).toMatchObject({ code: 0, stdout: '' });
  });

  it('CHECK names what differs: an MTU changed by hand, a prevResult with another address', async () => {
    const [ep] = await cniEndpoints(agents[0]);
    await run(['ip', 'netns', 'exec', c.a.ns, 'ip', 'link', 'set', 'eth0', 'mtu', '1300']);
    const mtu = await cni({ command: 'CHECK', containerId: 'ctr-a', netns: netns('a') });
    expect(mtu.json).toMatchObject({ code: 102, msg: expect.stringMatching(/^CHECK of ctr-a eth0 on blue: MTU is 1300, the network's is \d+$/) });
    const net = await agents[0].ctl<{ mtu: number }>('network', 'inspect', 'blue');
    await run(['ip', 'netns', 'exec', c.a.ns, 'ip', 'link', 'set', 'eth0', 'mtu', String(net.mtu)]);
    const other = await cni({ command: 'CHECK', containerId: 'ctr-a', netns: netns('a'), config: conf({ prevResult: { ips: [{ address: '198.19.60.250/24' }] } }) });
    expect(other.json).toMatchObject({ code: 102, msg: `CHECK of ctr-a eth0 on blue: prevResult has 198.19.60.250/24, the agent holds ${ep.ip}/24` });
    const none = await cni({ command: 'CHECK', containerId: 'ctr-zz', netns: netns('a') });
    expect(none.json).toMatchObject({ code: 102, msg: 'CHECK of ctr-zz eth0 on blue: the agent holds no such endpoint on node node1' });
  });

  const bad: [string, () => Partial<CniCall> & { command: string }, number, RegExp][] = [
    ['ADD without CNI_CONTAINERID', () => ({ command: 'ADD', netns: netns('b') }), 4, /^CNI_CONTAINERID is not set \(ADD needs it\)$/],
    ['ADD without CNI_NETNS', () => ({ command: 'ADD', containerId: 'ctr-b' }), 4, /^CNI_NETNS is not set/],
    ['ADD without CNI_IFNAME', () => ({ command: 'ADD', containerId: 'ctr-b', netns: netns('b'), ifname: undefined }), 4, /^CNI_IFNAME is not set/],
    ['ADD without CNI_PATH', () => ({ command: 'ADD', containerId: 'ctr-b', netns: netns('b'), env: { CNI_PATH: undefined } }), 4, /^CNI_PATH is not set/],
    ['ADD without CNI_COMMAND', () => ({ command: 'ADD', containerId: 'ctr-b', netns: netns('b'), env: { CNI_COMMAND: undefined } }), 4, /^CNI_COMMAND is not set$/],
    ['ADD into a namespace that does not exist', () => ({ command: 'ADD', containerId: 'ctr-b', netns: '/var/run/netns/ovt-no-such' }), 4, /^CNI_NETNS \/var\/run\/netns\/ovt-no-such does not exist$/],
    ['ADD with stdin that is not JSON', () => ({ command: 'ADD', containerId: 'ctr-b', netns: netns('b'), config: '{"cniVersion":' }), 6, /^the network configuration on stdin is not JSON$/],
    ['ADD to an unknown network', () => ({ command: 'ADD', containerId: 'ctr-b', netns: netns('b'), config: conf({ network: 'nosuch' }) }), 7, /^overlayd has no network "nosuch" \(create it first/],
    ['ADD with an unsupported cniVersion', () => ({ command: 'ADD', containerId: 'ctr-b', netns: netns('b'), config: conf({}, '0.4.0') }), 1, /^incompatible CNI version: the configuration has 0\.4\.0/],
    ['ADD with an address outside the subnet', () => ({ command: 'ADD', containerId: 'ctr-b', netns: netns('b'), config: conf({ ip: '198.19.61.5' }) }), 7, /not a usable address of network blue/],
    ['ADD with an address in use on the other host', () => ({ command: 'ADD', containerId: 'ctr-b', netns: netns('b'), config: conf({ ip: remote.ip }) }), 101, /is already in use on network blue/],
    ['a duplicate ADD', () => ({ command: 'ADD', containerId: 'ctr-a', netns: netns('a') }), 100, /^container ctr-a already has eth0 on network blue \(endpoint [0-9a-f]{12}, 198\.19\.60\.\d+\): DEL it first$/],
    ['ADD of an interface name the namespace has', () => ({ command: 'ADD', containerId: 'ctr-b', netns: netns('b'), ifname: 'lo' }), 100, /interface lo already exists/],
    ['GC without the valid attachments', () => ({ command: 'GC', config: conf({}, '1.1.0') }), 7, /GC needs "cni\.dev\/valid-attachments"/],
    ['STATUS of an unknown network', () => ({ command: 'STATUS', config: conf({ network: 'nosuch' }, '1.1.0') }), 50, /^overlayd has no network "nosuch" yet/],
  ];

  it.each(bad)('refuses %s with its code and one message, changing nothing', async (_what, make, code, msg) => {
    const before = await state();
    const r = await cni(make());
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json).toMatchObject({ code, cniVersion: expect.any(String) });
    expect(r.json!.msg).toMatch(msg);
    expect(String(r.json!.msg)).not.toContain('\n');
    expect(await state()).toEqual(before);
  });

  it('ADD with a fixed address gets it', async () => {
    const r = await add('b', { ip: '198.19.60.77' });
    expect(r.json).toMatchObject({ ips: [{ address: '198.19.60.77/24', interface: 0 }] });
    await ping(c.b.ns, remote.ip);
  });

  it('DEL without CNI_NETNS removes the endpoint everywhere; again, and for an unknown container, it succeeds', async () => {
    const r = await cni({ command: 'DEL', containerId: 'ctr-b', config: conf({ prevResult: {} }) });
    expect(r).toMatchObject({ code: 0, stdout: '' });
    for (const a of agents) await waitFor(`ctr-b gone on ${a.name}`, async () => !(await cniEndpoints(a)).some((e) => e.container === 'ctr-b'), 5_000);
    expect(await links(c.b.ns)).not.toMatch(/eth0/);
    expect(await cni({ command: 'DEL', containerId: 'ctr-b' })).toMatchObject({ code: 0, stdout: '' });
    expect(await cni({ command: 'DEL', containerId: 'ctr-never' })).toMatchObject({ code: 0, stdout: '' });
  });

  it('DEL after the container namespace is gone removes the endpoint', async () => {
    expect((await add('gone')).code).toBe(0);
    const path = netns('gone');
    await c.gone.remove();
    delete c.gone;
    const r = await cni({ command: 'DEL', containerId: 'ctr-gone', netns: path });
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect((await cniEndpoints(agents[0])).map((e) => e.container)).toEqual(['ctr-a']);
  });

  it('GC removes this host\'s CNI endpoints that are not valid attachments, and nothing else', async () => {
    expect((await add('d')).code).toBe(0);
    expect((await add('e')).code).toBe(0);
    const manual = await agents[0].ctl<Endpoint>('endpoint', 'attach', 'blue', '--netns', (await topo.container(1, 'm')).ns);
    const valid = [{ containerID: 'ctr-a', ifname: 'eth0' }, { containerID: 'ctr-d', ifname: 'eth0' }];
    const r = await cni({ command: 'GC', config: conf({ 'cni.dev/valid-attachments': valid }, '1.1.0') });
    expect(r, r.stdout).toMatchObject({ code: 0, stdout: '' });
    expect((await cniEndpoints(agents[0])).map((e) => e.container).sort()).toEqual(['ctr-a', 'ctr-d']);
    const ids = (await agents[0].ctl<Endpoint[]>('endpoint', 'ls', 'blue')).map((e) => e.id);
    expect(ids).toContain(manual.id);
    expect(ids).toContain(remote.id);
  });

  it('while the agent is down: ADD, CHECK, DEL and GC say try again later (11), STATUS 50; after its restart all is as before', async () => {
    // Its own endpoints and links (the other host's come back with gossip, on the agent's schedule, not the plugin's).
    const before = await state(true);
    await agents[0].stop();
    const down: [Partial<CniCall> & { command: string }, number][] = [
      [{ command: 'ADD', containerId: 'ctr-x', netns: netns('e') }, 11],
      [{ command: 'CHECK', containerId: 'ctr-a', netns: netns('a') }, 11],
      [{ command: 'DEL', containerId: 'ctr-a' }, 11],
      [{ command: 'GC', config: conf({ 'cni.dev/valid-attachments': [] }, '1.1.0') }, 11],
      [{ command: 'STATUS', config: conf({}, '1.1.0') }, 50],
    ];
    for (const [call, code] of down) {
      const r = await cni(call);
      expect(r.json, call.command).toMatchObject({ code, msg: `the overlayd agent is not reachable: no agent is listening on ${agents[0].socket}` });
    }
    await agents[0].start();
    expect(await cni({ command: 'STATUS', config: conf({}, '1.1.0') })).toMatchObject({ code: 0 });
    const same = async () => JSON.stringify(await state(true)) === JSON.stringify(before);
    await waitFor('node1 back with the endpoints and links it had', same, 15_000).catch(async () => expect(await state(true)).toEqual(before));
    expect(await cni({ command: 'CHECK', containerId: 'ctr-a', netns: netns('a') })).toMatchObject({ code: 0 });
  });
});

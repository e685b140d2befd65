/**
 * The multicast control plane on three namespace hosts (issue 14; the
 * four-host data test is multicast.test.ts): a container joins groups with
 * its own kernel's IGMPv3/MLDv2 (python3 sockets), the agent snoops the
 * reports, gossips the group, and the other hosts list it in `overlayctl
 * groups` with their data path's group table holding the VTEP; the querier's
 * queries (interval shortened to 2 s) keep the membership alive past its
 * interval; a leave, a dead host take the group away; static peers' groups;
 * bad input refused with one clear line. js data path: the control plane is
 * the same over both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { run, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import type { ManagedProcess } from '../../src/testkit/process.js';
import type { GroupRow } from '../../src/agent/operations.js';
import type { OverlayEvent } from '../../src/agent/events.js';
import { ControlClient } from '../../src/api-client/client.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sample, scrape } from './events-support.js';

const ready = requirement(haveRoot() && haveTools('ip', 'python3', 'promtool'), 'multicast control e2e needs root, ip, python3 and promtool (Debian package prometheus)');
const METRICS_PORT = 9466;
/** Sends COUNT datagrams to GROUP:PORT out of IFNAME. */
const SENDER = `
import socket, struct, sys
group, port, ifname, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack('@4s4si', b'\\0' * 4, b'\\0' * 4, socket.if_nametoindex(ifname)))
for i in range(count):
    s.sendto(b'overlayd %d' % i, (group, port))
`;
/** An unlabelled sample \`name value\` of a scrape. */
const total = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

/** Joins GROUPS (comma list) on IFNAME, prints `ready`; on SIGUSR1 leaves them and prints `left`; ends on SIGTERM. */
const LISTENER = `
import signal, socket, struct, sys, time
groups, ifname = sys.argv[1].split(','), sys.argv[2]
idx = socket.if_nametoindex(ifname)
socks = []
for g in groups:
    six = ':' in g
    s = socket.socket(socket.AF_INET6 if six else socket.AF_INET, socket.SOCK_DGRAM)
    if six:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, g) + struct.pack('@I', idx))
    else:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(g) + socket.inet_aton('0.0.0.0') + struct.pack('@i', idx))
    socks.append(s)
def leave(*_):
    for s in socks:
        s.close()
    print('left', flush=True)
signal.signal(signal.SIGUSR1, leave)
print('ready', flush=True)
while True:
    time.sleep(1)
`;

const V4 = '239.1.2.3';
const V6 = 'ff0e::123';
const QUERY_INTERVAL_S = 2;
/** Membership interval with that query interval: 2 × 2 s + 1 s response (snooping.ts, config.ts snoopingTimings). */
const MEMBERSHIP_S = 5;

interface Snooping {
  reports: number;
  queries: number;
  queriesSent: number;
  unknownMac: number;
  malformed: number;
}

describe.skipIf(!ready)('multicast control plane on three hosts (js data path)', () => {
  let topo: Topology;
  let agents: AgentHandle[] = [];
  const eps: Endpoint[] = [];
  const containers: string[] = [];
  const listeners: ManagedProcess[] = [];
  const vtep = (host: number): string => topo.host(host).addr4!;
  // The API directly (what overlayctl groups --json prints): polled every few ms, so the times measured are the agents'.
  const groups = (a: AgentHandle): Promise<GroupRow[]> => new ControlClient(a.socket).get<GroupRow[]>('/v1/groups?network=mc');
  const groupEvents = (a: AgentHandle): Promise<OverlayEvent[]> => new ControlClient(a.socket).get<OverlayEvent[]>('/v1/events?type=group');
  const rowOf = async (a: AgentHandle, group: string): Promise<GroupRow | undefined> => (await groups(a)).find((r) => r.group === group);
  const listen = async (host: number, list: string[]): Promise<ManagedProcess> => {
    const p = topo.spawn(containers[host - 1], ['python3', '-c', LISTENER, list.join(','), 'eth0']);
    listeners.push(p);
    await p.waitForLine(/^ready$/, 10_000);
    return p;
  };

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 3 });
    const extraArgs = ['--query-interval', String(QUERY_INTERVAL_S), '--peer-probe-interval', '0', '--metrics-addr', `127.0.0.1:${METRICS_PORT}`];
    agents = await startCluster(topo, { datapath: 'js', extraArgs }, [1, 2, 3]);
    await agents[0].ctl('network', 'create', 'mc', '--subnet', '198.19.40.0/24', '--subnet', '2001:db8:40::/64', '--multicast');
    await agents[0].ctl('network', 'create', 'plain', '--subnet', '198.19.41.0/24');
    for (const host of [1, 2, 3]) {
      await waitFor(`network mc on node${host}`, async () => (await agents[host - 1].ctl<{ name: string }[]>('network', 'ls')).some((n) => n.name === 'mc'), 10_000);
      const c = await topo.container(host, `c${host}`);
      containers.push(c.ns);
      eps.push(await agents[host - 1].ctl<Endpoint>('endpoint', 'attach', 'mc', '--netns', c.ns));
    }
  }, 90_000);

  afterAll(async () => {
    for (const p of listeners) await p.stop('SIGTERM', 1000);
    await tearDown(topo, agents);
  });

  it('shows the setting in inspect and ls: multicast with its rate, off elsewhere', async () => {
    expect(await agents[1].ctl('network', 'inspect', 'mc')).toMatchObject({ name: 'mc', multicast: true, multicastRate: 10_000 });
    const ls = await agents[2].ctl<{ name: string; multicast: boolean; multicastRate?: number }[]>('network', 'ls');
    expect(ls.map((n) => [n.name, n.multicast, n.multicastRate])).toEqual([
      ['mc', true, 10_000],
      ['plain', false, undefined],
    ]);
  });

  it("lists a container's groups on the other hosts within seconds, with the VTEP in their data path's group table", async () => {
    await listen(2, [V4, V6]);
    const t0 = Date.now();
    for (const a of [agents[0], agents[2]]) {
      for (const group of [V4, V6]) {
        const row = await waitFor(`${group} on ${a.name}`, async () => (await rowOf(a, group))?.vteps.length ? rowOf(a, group) : undefined, 5_000);
        expect(row).toMatchObject({ network: 'mc', group, members: [{ node: 'node2', endpoint: eps[1].id, vtep: vtep(2) }], vteps: [vtep(2)] });
      }
    }
    console.info(`multicast-control: joined groups listed with their VTEP on node1 and node3 ${Date.now() - t0} ms after the join`);
    expect((await rowOf(agents[0], V4))!.mac).toBe('01:00:5e:01:02:03');
    // On node2 itself the group is listed, but its own data path sends it nowhere.
    expect(await rowOf(agents[1], V4)).toMatchObject({ members: [{ node: 'node2' }], vteps: [] });
    expect(await agents[0].ctl('groups')).toEqual(await groups(agents[0])); // overlayctl groups --json: the same rows
    const joined = await groupEvents(agents[1]);
    expect(joined.filter((e) => e.action === 'joined').map((e) => [e.group, e.endpoint]).sort()).toEqual([[V4, eps[1].id], [V6, eps[1].id]].sort());
    const seen = await groupEvents(agents[0]);
    expect(seen.filter((e) => e.action === 'added').map((e) => [e.group, e.node]).sort()).toEqual([[V4, 'node2'], [V6, 'node2']].sort());
  }, 30_000);

  it('counts in metrics: groups by network, and the frames replicated to the member and received there; promtool check passes', async () => {
    const sent = await run(['ip', 'netns', 'exec', containers[0], 'python3', '-c', SENDER, V4, '5000', 'eth0', '20']);
    expect(sent.code).toBe(0);
    const there = await waitFor('20 multicast frames received on node2', async () => {
      const text = await scrape(agents[1].ns, METRICS_PORT);
      return total(text, 'overlayd_multicast_rx_total') >= 20 ? text : undefined;
    }, 5_000);
    expect(sample(there, 'overlayd_multicast_groups', 'network="mc"')).toBe(2);
    const here = await scrape(agents[0].ns, METRICS_PORT);
    expect(total(here, 'overlayd_multicast_frames_total')).toBeGreaterThanOrEqual(20);
    expect(total(here, 'overlayd_multicast_copies_total')).toBe(total(here, 'overlayd_multicast_frames_total')); // one member host
    expect(sample(here, 'overlayd_drops_total', 'network="mc",reason="multicast_rate"')).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'ovt-metrics-'));
    try {
      writeFileSync(join(dir, 'metrics.txt'), here);
      const check = await run(['sh', '-c', `promtool check metrics < ${join(dir, 'metrics.txt')}`]);
      expect([check.code, check.stdout + check.stderr]).toEqual([0, '']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows the replication list in trace's text", async () => {
    const args = ['trace', 'mc', '--src', eps[0].ips[0], '--dst', V4, '--proto', 'udp'];
    expect(await agents[0].ctl(...args)).toMatchObject({ verdict: 'forward', replication: [{ vtep: vtep(2), node: 'node2' }], outer: { dst: vtep(2) } });
    const text = await run([process.execPath, agents[0].ctlPath, '--socket', agents[0].socket, ...args]);
    expect(text.stdout).toContain(`Replication: 1 copy, to ${vtep(2)} (node2)`);
    // Nobody joined the IPv6 group of another address: dropped, and said so.
    const none = await run([process.execPath, agents[0].ctlPath, '--socket', agents[0].socket, 'trace', 'mc', '--src', eps[0].ips[1], '--dst', 'ff0e::999', '--proto', 'udp']);
    expect(none.stdout).toMatch(/no VTEP of the network wants it[^]*Verdict: drop \(multicast\)/);
  });

  it("keeps the membership past its interval: the querier's queries reach the container and its reports refresh it", async () => {
    const before = (await agents[1].ctl<{ snooping: Snooping }>('stats')).snooping;
    await new Promise((r) => setTimeout(r, (MEMBERSHIP_S + 3) * 1000));
    const after = (await agents[1].ctl<{ snooping: Snooping }>('stats')).snooping;
    expect(after.queriesSent).toBeGreaterThan(before.queriesSent);
    expect(after.reports).toBeGreaterThan(before.reports);
    expect(after.malformed).toBe(0);
    expect(await rowOf(agents[0], V4)).toMatchObject({ vteps: [vtep(2)] });
    expect(await rowOf(agents[0], V6)).toMatchObject({ vteps: [vtep(2)] });
  }, 20_000);

  it('takes a left group away everywhere within 2 s', async () => {
    const p = listeners[0];
    p.signal('SIGUSR1');
    await p.waitForLine(/^left$/, 5_000);
    const t0 = Date.now();
    await waitFor('groups gone on node1 and node3', async () => {
      for (const a of [agents[0], agents[2]]) if ((await groups(a)).length > 0) return false;
      return true;
    }, 10_000); // the bound is the expect below: a failure then says how long it took
    const goneMs = Date.now() - t0;
    console.info(`multicast-control: left groups gone on node1 and node3 ${goneMs} ms after the leave`);
    expect(goneMs).toBeLessThan(2_000);
    const left = await groupEvents(agents[1]);
    expect(left.filter((e) => e.action === 'left')).toHaveLength(2);
  }, 15_000);

  it("static peers' groups: listed with node null and in the group table; bad groups refused with a clear line", async () => {
    await agents[0].ctl('peer', 'add', 'mc', '--ip', '198.19.40.200', '--mac', '02:00:00:00:00:c8', '--vtep', '198.18.0.50', '--group', '239.9.9.9', '--group', '239.9.9.10');
    const row = await rowOf(agents[0], '239.9.9.9');
    expect(row).toMatchObject({ members: [{ node: null, endpoint: null, vtep: '198.18.0.50', ip: '198.19.40.200' }], vteps: ['198.18.0.50'] });
    const bad = await agents[0].ctlRaw('peer', 'add', 'mc', '--ip', '198.19.40.201', '--mac', '02:00:00:00:00:c9', '--vtep', '198.18.0.51', '--group', '224.0.0.251');
    expect([bad.code, bad.stderr]).toEqual([1, 'overlayctl: --group 224.0.0.251 is a link-local group: every VTEP of the network gets it anyway\n']);
    const plain = await agents[0].ctlRaw('peer', 'add', 'plain', '--ip', '198.19.41.201', '--mac', '02:00:00:00:00:c9', '--vtep', '198.18.0.51', '--group', '239.1.1.1');
    expect(plain.stderr).toBe('overlayctl: network plain was not created with --multicast: its peers get no groups\n');
    await agents[0].ctl('peer', 'rm', 'mc', '--ip', '198.19.40.200');
    expect(await groups(agents[0])).toEqual([]);
  });

  it('refuses bad settings and requests with one clear line', async () => {
    const cases: [string[], string][] = [
      [['network', 'create', 'x', '--subnet', '198.19.42.0/24', '--multicast-rate', '5'], '--multicast-rate applies to --multicast networks only'],
      [['network', 'create', 'x', '--subnet', '198.19.42.0/24', '--multicast', '--multicast-rate', 'lots'], '"lots" is not a number'],
      [['groups', 'plain'], 'network plain was not created with --multicast: it has no groups'],
      [['groups', 'nope'], 'no network named nope'],
    ];
    for (const [args, message] of cases) {
      const r = await agents[0].ctlRaw(...args);
      expect([args, r.code, r.stderr]).toEqual([args, 1, `overlayctl: ${message}\n`]);
    }
  });

  it("hides a dead host's groups within the failure-detection time", async () => {
    await listen(3, [V4]);
    await waitFor('node3 group on node1', async () => ((await rowOf(agents[0], V4))?.vteps.length ? true : undefined), 5_000);
    agents[2].process.signal('SIGKILL');
    const t0 = Date.now();
    await waitFor('node3 group gone on node1', async () => ((await groups(agents[0])).length === 0 ? true : undefined), 40_000); // bounded by the expect below
    const goneMs = Date.now() - t0;
    console.info(`multicast-control: a killed host's group gone on node1 ${goneMs} ms after the kill`);
    expect(goneMs).toBeLessThan(30_000);
    // Its VTEP left node1's group table with it: a frame to the group now goes nowhere.
    const trace = await agents[0].ctl('trace', 'mc', '--src', eps[0].ips[0], '--dst', V4, '--proto', 'udp');
    expect(trace).toMatchObject({ verdict: 'drop', reason: 'multicast' });
    expect(trace).not.toHaveProperty('replication');
  }, 60_000);
});

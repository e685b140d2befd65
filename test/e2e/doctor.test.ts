/**
 * `overlayctl doctor` on two namespace hosts whose agents gossip with a key,
 * a plain and an encrypted network with an endpoint on each host: a healthy
 * cluster passes every check (exit 0) on both hosts, on either data path.
 * Then, on the native path: an nftables rule in host 1's namespace dropping
 * UDP 4789 makes doctor there fail naming that rule (exit 1) while host 2's
 * doctor does not see it, and the command the hint gives removes it; a
 * container interface above the network's MTU fails naming it; a killed
 * agent's node fails the members check on the
 * other host (its FDB entries gone, not stale); an nftables rule dropping
 * ESP fails firewall-esp; the agent restarted without --gossip-key on its
 * state (an encrypted network in it) warns that the network's keys would
 * travel in clear gossip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { AgentHandle, nsExec, OVERLAYCTL, run, startCluster, tearDown, waitFor, type Endpoint } from '../../src/testkit/agents.js';
import type { DoctorReport } from '../../src/agent/doctor.js';
import { newGossipKey } from './encrypted-support.js';

const ready = requirement(haveRoot() && haveTools('ip', 'nft'), 'doctor e2e tests need root, ip and nft (Debian package nftables)');

/** Two hosts on `datapath` whose agents gossip with a key, networks blue and sec (encrypted) with an endpoint on each; torn down after the block. */
function useCluster(datapath: 'native' | 'js') {
  const c = { topo: undefined as Topology | undefined, agents: [] as AgentHandle[], eps: [] as Endpoint[] };
  beforeAll(async () => {
    c.topo = await Topology.create({ hosts: 2 });
    c.agents = await startCluster(c.topo, { datapath, gossipKey: newGossipKey() }, [1, 2]);
    await c.agents[0].ctl('network', 'create', 'blue', '--subnet', '198.19.1.0/24');
    await c.agents[0].ctl('network', 'create', 'sec', '--subnet', '198.19.2.0/24', '--encrypted');
    for (const [i, a] of c.agents.entries()) {
      const container = await c.topo.container(i + 1, 'c');
      c.eps.push(await a.ctl<Endpoint>('endpoint', 'attach', 'blue', '--netns', container.ns));
      await a.ctl('endpoint', 'attach', 'sec', '--netns', container.ns, '--ifname', 'eth1');
    }
  }, 120_000);
  afterAll(() => tearDown(c.topo, c.agents));
  return c;
}

/** Runs doctor --json with agent `a`: the exit code and the report. */
async function doctorOf(a: AgentHandle): Promise<{ code: number; report: DoctorReport }> {
  const r = await a.ctlRaw('doctor');
  return { code: r.code, report: JSON.parse(r.stdout) as DoctorReport };
}
const rowsOf = (r: DoctorReport, check: string) => r.checks.filter((c) => c.check === check);

/** Every check ok on both hosts, exit 0, and the text form: one line per check and a summary. */
async function expectHealthy(agents: AgentHandle[]): Promise<void> {
  for (const [i, a] of agents.entries()) {
    const { code, report } = await doctorOf(a);
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect([code, report.status, report.node]).toEqual([0, 'ok', `node${i + 1}`]);
    expect(report.checks.map((c) => c.check)).toEqual(expect.arrayContaining(['mtu-underlay', 'mtu-container', 'firewall-data-port', 'firewall-gossip-port', 'network-links', 'members', 'stale-fdb']));
    expect(rowsOf(report, 'stale-fdb')[0].detail).toMatch(/^2 FDB entries, every owner alive/);
    expect(rowsOf(report, 'esp-keys')[0].detail).toBe('1 encrypted network(s) up here: an outbound SA for every VTEP, keys rotating');
    expect(rowsOf(report, 'firewall-esp')[0].detail).toMatch(/^no rule drops ESP \(IP protocol 50\)/);
  }
  const text = await run([process.execPath, OVERLAYCTL, '--socket', agents[0].socket, 'doctor']);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^ok {4}mtu-underlay +2 network\(s\) fit \S+'s MTU 1500$/m);
  expect(text.stdout.trimEnd().split('\n').at(-1)).toMatch(/^node1: \d+ checks ok, 0 warnings, 0 failures$/);
}

describe.skipIf(!ready)('overlayctl doctor on two hosts, js data path', () => {
  const c = useCluster('js');
  it('a healthy cluster: every check ok on both hosts, exit 0', () => expectHealthy(c.agents));
});

describe.skipIf(!ready)('overlayctl doctor on two hosts, native data path', () => {
  const c = useCluster('native');
  const doctor = (i: number) => doctorOf(c.agents[i]);
  const eps = c.eps;

  it('a healthy cluster: every check ok on both hosts, exit 0; the text form has one line per check and a summary', () => expectHealthy(c.agents));

  it('an nftables rule dropping udp 4789 on host 1: doctor there fails naming it (exit 1), host 2 does not see it; the hint removes it', async () => {
    const ns = c.agents[0].ns;
    await nsExec(ns, ['nft', 'add table inet ovtdoctor']);
    await nsExec(ns, ['nft', 'add chain inet ovtdoctor input { type filter hook input priority 0; policy accept; }']);
    await nsExec(ns, ['nft', 'add rule inet ovtdoctor input udp dport 4789 counter drop']);
    const { code, report } = await doctor(0);
    expect([code, report.status]).toEqual([1, 'fail']);
    const [row] = rowsOf(report, 'firewall-data-port');
    expect(row.status).toBe('fail');
    expect(row.detail).toMatch(/^nft inet ovtdoctor input handle \d+: "udp dport 4789 drop" drops incoming udp 4789 \(data port\)$/);
    expect(row.hint).toMatch(/^nft delete rule inet ovtdoctor input handle \d+$/);
    expect(rowsOf(report, 'firewall-gossip-port').map((c) => c.status)).toEqual(['ok']);
    expect(rowsOf((await doctor(1)).report, 'firewall-data-port').map((c) => c.status)).toEqual(['ok']);

    await nsExec(ns, row.hint.split(' '));
    // With the data-path probes, the peers take a few seconds to be up again.
    const after = await waitFor('doctor ok again on host 1', async () => {
      const d = await doctor(0);
      return d.code === 0 && d;
    }, 15_000);
    expect(rowsOf(after.report, 'firewall-data-port').map((c) => c.status)).toEqual(['ok']);
  });

  it('a container interface above the network MTU fails naming it; back at the network MTU it passes', async () => {
    const { netns, ifname } = eps[0];
    await nsExec(netns, ['ip', 'link', 'set', ifname, 'mtu', '9000']);
    const { code, report } = await doctor(0);
    const [row] = rowsOf(report, 'mtu-container');
    expect([code, row.status, row.subject]).toEqual([1, 'fail', `${ifname} in ${netns}`]);
    expect(row.detail).toMatch(/has MTU 9000, above network blue's 1450: packets above 1450 bytes are black-holed/);
    await nsExec(netns, row.hint.split(' ').slice(4)); // "ip netns exec NS" is what nsExec does
    expect(rowsOf((await doctor(0)).report, 'mtu-container').map((c) => c.status)).toEqual(['ok']);
  });

  it('host 2\'s agent killed: doctor on host 1 fails naming the dead member whose endpoints it cannot reach; its FDB entry is gone, not stale', async () => {
    await c.agents[1].process.stop('SIGKILL');
    const report = await waitFor('node2 dead in doctor', async () => {
      const r = (await doctor(0)).report;
      return rowsOf(r, 'members').some((c) => c.status === 'fail') && r;
    }, 30_000);
    const [row] = rowsOf(report, 'members');
    expect([row.subject, row.detail]).toEqual(['node2', `node2 (${c.agents[1].advertise}) is dead: its endpoints on blue, sec are unreachable from here`]);
    expect(rowsOf(report, 'stale-fdb').map((c) => [c.status, c.detail])).toEqual([['ok', '0 FDB entries, every owner alive at its VTEP']]);
  });

  it('an ESP drop rule fails firewall-esp; restarted without --gossip-key the agent warns that the encrypted network\'s keys travel in clear', async () => {
    const keyed = (await doctor(0)).report;
    expect([rowsOf(keyed, 'gossip-key'), rowsOf(keyed, 'firewall-esp')].map((rows) => rows.map((c) => c.status))).toEqual([['ok'], ['ok']]);

    // An ESP drop in the output hook is named.
    await nsExec(c.agents[0].ns, ['nft', 'add table ip ovtdoctoresp']);
    await nsExec(c.agents[0].ns, ['nft', 'add chain ip ovtdoctoresp out { type filter hook output priority 0; policy accept; }']);
    await nsExec(c.agents[0].ns, ['nft', 'add rule ip ovtdoctoresp out ip protocol esp drop']);
    const [esp] = rowsOf((await doctor(0)).report, 'firewall-esp');
    expect([esp.status, esp.detail]).toEqual(['fail', expect.stringMatching(/^nft ip ovtdoctoresp out handle \d+: "ip protocol esp drop" drops outgoing ESP \(IP protocol 50\)$/)]);
    await nsExec(c.agents[0].ns, esp.hint.split(' '));
    const a = c.agents[0];
    await a.stop();
    c.agents[0] = new AgentHandle(a.topology, a.hostIndex, a.name, a.advertise, a.stateDir, a.socket, { datapath: 'native' });
    await c.agents[0].start();
    const [row] = rowsOf((await doctor(0)).report, 'gossip-key');
    expect([row.status, row.subject]).toEqual(['warn', 'sec']);
    expect(row.detail).toContain('without --gossip-key: their data-plane keys travel in clear gossip');
  });
});

/**
 * `overlayctl perf` end to end on three namespace hosts (native data path,
 * one gossip key): between hosts 1 and 2 on a plain and on an encrypted
 * network (and the other direction, --reverse) it gives non-zero Gbit/s and RTT and no loss, and leaves no test
 * endpoint, veth or worker behind on either host; the refusals each have
 * their code and one line (unknown network, unknown node, this node, a
 * static peer without an agent, a member that left, a second test at once,
 * and — gossip up, UDP 4789 dropped by nftables on host 2 — UNREACHABLE).
 * Needs nothing but root, ip and node: no ping, no iperf3.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTool, haveTools, requirement } from '../../src/testkit/ci.js';
import { run, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import type { PerfReport } from '../../src/agent/operations.js';

const ready = requirement(haveRoot() && haveTools('ip', 'unshare', 'nsenter'), 'perf e2e tests need root, ip, unshare and nsenter');

/** Perf workers the agents started (their children: `unshare` execs the worker in place), as `pid args` lines. */
function workersOf(agents: readonly AgentHandle[]): string[] {
  const parents = new Set(agents.map((a) => String(a.process.pid)));
  return execFileSync('ps', ['-eo', 'pid=,ppid=,args='])
    .toString()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, ppid, ...args]) => parents.has(ppid) && args.join(' ').includes('perf/worker.js'))
    .map(([pid, , ...args]) => `${pid} ${args.join(' ')}`);
}

const haveNft = ready && requirement(haveTool('nft'), 'the UNREACHABLE case drops the data port with nftables (nft)');

describe.skipIf(!ready)('overlayctl perf between two agents', () => {
  let topo: Topology | undefined;
  let agents: AgentHandle[] = [];

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 3 });
    agents = await startCluster(topo, { datapath: 'native', gossipKey: randomBytes(16).toString('base64') }, [1, 2, 3]);
    await agents[0].ctl('network', 'create', 'plain', '--subnet', '198.19.30.0/24');
    await agents[0].ctl('network', 'create', 'secret', '--subnet', '198.19.31.0/24', '--encrypted');
    await waitFor('both networks everywhere', async () => {
      for (const a of agents) if ((await a.ctl<unknown[]>('network', 'ls')).length !== 2) return false;
      return true;
    }, 15_000);
  }, 90_000);

  afterAll(async () => {
    await tearDown(topo, agents);
  });

  /** Nothing of a test is left on hosts 1 and 2: no perf endpoint in any view, no test veth, no worker. */
  async function expectNothingLeft(): Promise<void> {
    const perfEndpoints = async () => (await Promise.all(agents.slice(0, 2).map((a) => a.ctl<Endpoint[]>('endpoint', 'ls')))).flat().filter((e) => e.runtime === 'perf');
    await waitFor('no perf endpoint on either host', async () => (await perfEndpoints()).length === 0, 10_000);
    // A namespace is removed by the kernel a little after its last process (a work queue): its veth with it.
    const veths = () => agents.slice(0, 2).flatMap((a) => execFileSync('ip', ['-n', a.ns, '-o', 'link', 'show']).toString().match(/ vo[0-9a-f]{12}[@:]/g) ?? []);
    await waitFor('no test veth on either host', async () => veths().length === 0, 10_000);
    await waitFor('no perf worker left', async () => workersOf(agents).length === 0, 5_000);
  }

  for (const [network, direction] of [['plain', 'send'], ['secret', 'send'], ['secret', 'receive']] as const) {
    it(`${network}, ${direction}: Gbit/s, RTT, no loss, and nothing left behind`, async () => {
      const reverse = direction === 'receive' ? ['--reverse'] : [];
      const r = await agents[0].ctl<PerfReport>('perf', network, '--to', 'node2', '--seconds', '2', '--streams', '2', ...reverse);
      console.log(`perf ${network} ${direction}: ${r.gbps} Gbit/s, ${r.segmentsPerSec} segments/s, rtt p50 ${r.rttP50Ms} ms p99 ${r.rttP99Ms} ms, loss ${r.lossPct}%, set-up ${r.setupMs} ms`);
      expect(r).toMatchObject({ network, from: 'node1', to: 'node2', encrypted: network === 'secret', streams: 2, direction, lossPct: 0 });
      expect(r.gbps).toBeGreaterThan(0);
      expect(r.bytes).toBeGreaterThan(0);
      expect(r.segmentsPerSec).toBeGreaterThan(0);
      expect(r.rttP50Ms).toBeGreaterThan(0);
      expect(r.rttP99Ms).toBeGreaterThanOrEqual(r.rttP50Ms);
      expect(r.probes).toBeGreaterThan(0);
      expect(r.localIp).toMatch(network === 'plain' ? /^198\.19\.30\./ : /^198\.19\.31\./);
      await expectNothingLeft();
    }, 90_000);
  }

  it('the text form names the figures', async () => {
    const r = await run([process.execPath, agents[1].ctlPath, '--socket', agents[1].socket, 'perf', 'plain', '--to', 'node1', '--seconds', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/throughput\s+[\d.]+ Gbit\/s/);
    expect(r.stdout).toMatch(/rtt\s+p50 [\d.]+ ms, p99 [\d.]+ ms/);
    expect(r.stdout).toMatch(/loss\s+0%/);
    await expectNothingLeft();
  }, 90_000);

  it('refuses what it cannot test, each with its code and one line', async () => {
    await agents[0].ctl('peer', 'add', 'plain', '--ip', '198.19.30.250', '--mac', '02:42:c6:13:1e:fa', '--vtep', '198.18.0.250');
    const cases: [string[], RegExp][] = [
      [['perf', 'nosuch', '--to', 'node2'], /no network named nosuch/],
      [['perf', 'plain', '--to', 'node9'], /no cluster member named node9/],
      [['perf', 'plain', '--to', 'node1'], /names this node/],
      [['perf', 'plain', '--to', '198.18.0.250'], /static peer of plain .* no overlayd agent/],
      [['perf', 'plain', '--to', 'node2', '--seconds', '600'], /"seconds" must be 1\.\.60/],
    ];
    for (const [args, line] of cases) {
      const r = await agents[0].ctlRaw(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(line);
    }
  });

  it('one test at a time per agent: a second is refused as PERF_BUSY', async () => {
    const first = agents[0].ctl<PerfReport>('perf', 'plain', '--to', 'node2', '--seconds', '3');
    await waitFor('the first test under way', async () => (await agents[0].ctl<Endpoint[]>('endpoint', 'ls')).some((e) => e.runtime === 'perf'), 10_000);
    const second = await agents[0].ctlRaw('perf', 'plain', '--to', 'node3', '--seconds', '1');
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/already running/);
    expect((await first).lossPct).toBe(0);
    await expectNothingLeft();
  }, 90_000);

  it.skipIf(!haveNft)('gossip up, data port dropped on host 2: UNREACHABLE naming the data path, nothing left behind', async () => {
    const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', agents[1].ns, 'nft', ...args]);
    nft('add', 'table', 'inet', 'ovtperf');
    try {
      nft('add', 'chain', 'inet', 'ovtperf', 'in', '{ type filter hook input priority 0; }');
      nft('add', 'rule', 'inet', 'ovtperf', 'in', 'udp', 'dport', '4789', 'drop');
      const r = await agents[0].ctlRaw('perf', 'plain', '--to', 'node2', '--seconds', '1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/no echo from 198\.19\.30\.\d+ on node2 within 5 s: the data path between 198\.18\.0\.1 and 198\.18\.0\.2 drops/);
    } finally {
      nft('delete', 'table', 'inet', 'ovtperf');
    }
    await expectNothingLeft();
  }, 60_000);

  it('an agent killed mid-test: its worker and namespace go at once, the other side detaches, the restarted agent forgets its test endpoint', async () => {
    const test = agents[0].ctlRaw('perf', 'plain', '--to', 'node2', '--seconds', '30');
    const perfOn = async (a: AgentHandle) => (await a.ctl<Endpoint[]>('endpoint', 'ls')).filter((e) => e.runtime === 'perf');
    await waitFor('the responder on node2', async () => (await perfOn(agents[1])).some((e) => e.node === 'node2'), 20_000);
    const pids = workersOf(agents).map((l) => Number(l.split(' ')[0]));
    expect(workersOf(agents).filter((l) => l.includes(' serve ')).length).toBe(2); // a namespace on each side, and the runs in node1's
    process.kill(agents[0].process.pid!, 'SIGKILL'); // the agent alone, not its process group
    expect((await test).code).not.toBe(0);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor('both workers gone (node1: its agent went; node2: node1 is dead)', async () => pids.every((p) => !alive(p)), 30_000);
    await waitFor('no perf endpoint on node2', async () => (await perfOn(agents[1])).length === 0, 10_000);
    await agents[0].process.exited;
    await agents[0].start();
    expect(await perfOn(agents[0])).toEqual([]);
    await waitFor('node1 back in the cluster', async () => (await agents[1].ctl<{ name: string; state: string }[]>('members')).some((m) => m.name === 'node1' && m.state === 'alive'), 40_000);
    await expectNothingLeft();
  }, 120_000);

  it('a member that left is NODE_DOWN', async () => {
    await agents[2].stop();
    await waitFor('node3 left', async () => (await agents[0].ctl<{ name: string; state: string }[]>('members')).some((m) => m.name === 'node3' && m.state === 'left'), 15_000);
    const r = await agents[0].ctlRaw('perf', 'plain', '--to', 'node3');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/member node3 is left/);
  }, 30_000);
});

/**
 * What head-end replication costs the sender's host (issue 14): four
 * namespace hosts, one `--multicast` network, a container on each. The
 * container on host 1 sends a 100 Mbit/s UDP stream (1400-byte datagrams at
 * 8,900 per second, python3 paced — iperf3 cannot send multicast) either to
 * a group joined by the containers on hosts 2, 3 and 4 (one frame from the
 * container, three copies from the agent), or as the same stream unicast
 * three times, to each of them (three frames from the container, one
 * encapsulation each). Measured per run: host 1's agent CPU (user + system of
 * the whole process, /proc/PID/stat, over the stream) and what each receiver
 * got; medians of `--runs` runs. The idle row is the agent's CPU over the
 * same time with nothing sent (the native workers' polling is in every row).
 *
 *     npx tsx bench/multicast.ts [--datapaths native,js] [--seconds 2] [--runs 3]
 *
 * Each data path takes about a minute; the default is native only.
 */
import { parseArgs } from 'node:util';
import { Topology } from '../src/testkit/topology.js';
import { cleanStaleRuns } from '../src/testkit/netns.js';
import { haveRoot } from '../src/testkit/ci.js';
import { startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../src/testkit/agents.js';
import { send, startReceiver, type Received } from '../src/testkit/multicast.js';
import { processCpuSeconds } from './lib/cpu.js';
import { median } from './lib/stats.js';
import { renderTable, type ResultRow } from './lib/table.js';

const GROUP = '239.70.0.1';
const PORT = 7000;
const SIZE = 1400;
const PPS = 8900; // 1400 × 8 × 8,900 ≈ 99.7 Mbit/s of UDP payload
const RECEIVERS = [2, 3, 4];

const METRICS = ['cpuPct', 'offered', 'mbps', 'lossPct', 'copiesPerS'] as const;
type Metric = (typeof METRICS)[number];
type Mode = 'idle' | 'multicast' | 'unicast ×3';

/** What the benchmark reads of `overlayctl stats --json`. */
interface Stats {
  tx: { packets: number };
}

/** One run of `mode`: the agent's CPU in % of one core over the stream, the sender's and the worst receiver's Mbit/s, its loss, datagrams the agent sent per second. */
async function measure(topo: Topology, agents: AgentHandle[], ep: Record<number, Endpoint>, mode: Mode, seconds: number): Promise<Record<Metric, number>> {
  const pid = agents[0].process.pid!;
  const groups = mode === 'multicast' ? [GROUP] : [];
  const receivers = mode === 'idle' ? [] : RECEIVERS.map((h) => startReceiver(topo, ep[h].netns, { groups, port: PORT, maxS: seconds + 20, quietS: 1 }));
  await Promise.all(receivers.map((r) => r.ready));
  if (mode === 'multicast') await waitGroup(agents[0], RECEIVERS.map((h) => `node${h}`));
  const before = await agents[0].ctl<Stats>('stats');
  const cpu0 = processCpuSeconds(pid);
  let sent = { sent: 0, start: 0, end: seconds }; // idle: nothing sent for `seconds`
  if (mode === 'idle') await new Promise((r) => setTimeout(r, seconds * 1000));
  else {
    const dsts = mode === 'multicast' ? [GROUP] : RECEIVERS.map((h) => ep[h].ip);
    sent = await send(ep[1].netns, dsts, PORT, { count: Math.round(PPS * seconds), pps: PPS, tag: 'bench', size: SIZE, maxS: seconds + 5 });
  }
  const cpu1 = processCpuSeconds(pid); // also python's start and end, while the agent idles (~1 %)
  const streamS = sent.end - sent.start;
  const after = await agents[0].ctl<Stats>('stats');
  const got: Received[] = await Promise.all(receivers.map((r) => r.result));
  const worst = got.length ? Math.min(...got.map((g) => g.tags.bench ?? 0)) : 0;
  const mbit = (datagrams: number) => (datagrams * SIZE * 8) / streamS / 1e6;
  return {
    cpuPct: ((cpu1 - cpu0) / streamS) * 100,
    offered: mbit(sent.sent),
    mbps: mbit(worst),
    lossPct: sent.sent ? (1 - worst / sent.sent) * 100 : 0,
    copiesPerS: (after.tx.packets - before.tx.packets) / streamS,
  };
}

/** Waits until host 1 lists the group's members on `nodes`. */
function waitGroup(agent: AgentHandle, nodes: string[]): Promise<unknown> {
  return waitFor(`${GROUP} joined on ${nodes.join(', ')}`, async () => {
    const rows = await agent.ctl<{ group: string; members: { node: string | null }[] }[]>('groups', 'bench');
    const have = (rows.find((r) => r.group === GROUP)?.members ?? []).map((m) => m.node);
    return nodes.every((n) => have.includes(n));
  }, 15_000);
}

/** One data path: a fresh topology, every mode `runs` times (interleaved), medians. */
async function onePath(datapath: 'native' | 'js', seconds: number, runs: number): Promise<ResultRow<Metric>[]> {
  const topo = await Topology.create({ hosts: 4 });
  let agents: AgentHandle[] = [];
  try {
    agents = await startCluster(topo, { datapath }, [1, 2, 3, 4]);
    await agents[0].ctl('network', 'create', 'bench', '--subnet', '198.19.70.0/24', '--multicast');
    const ep: Record<number, Endpoint> = {};
    for (const a of agents) {
      await waitFor(`bench on ${a.name}`, async () => (await a.ctl<unknown[]>('network', 'ls')).length === 1, 20_000);
      ep[a.hostIndex] = await a.ctl<Endpoint>('endpoint', 'attach', 'bench', '--netns', (await topo.container(a.hostIndex, 'b')).ns);
    }
    const modes: Mode[] = ['idle', 'multicast', 'unicast ×3'];
    const results = new Map<Mode, Record<Metric, number>[]>(modes.map((m) => [m, []]));
    for (let run = 0; run < runs; run++) for (const m of modes) results.get(m)!.push(await measure(topo, agents, ep, m, seconds));
    const medians = (rs: Record<Metric, number>[]) => Object.fromEntries(METRICS.map((k) => [k, median(rs.map((r) => r[k]))])) as Record<Metric, number>;
    return modes.map((m) => ({ name: `${datapath} ${m}`, values: medians(results.get(m)!) }));
  } finally {
    await tearDown(topo, agents);
  }
}

async function main(): Promise<void> {
  const options = { datapaths: { type: 'string', default: 'native' }, seconds: { type: 'string', default: '2' }, runs: { type: 'string', default: '3' } } as const;
  const { values } = parseArgs({ options });
  if (!haveRoot()) throw new Error('bench/multicast.ts needs root (namespace hosts)');
  cleanStaleRuns();
  const columns = [
    { key: 'cpuPct', title: 'sending agent CPU (% of a core)', digits: 0, ratio: false },
    { key: 'offered', title: 'sent by the container (Mbit/s)', digits: 1, ratio: false },
    { key: 'mbps', title: 'worst receiver (Mbit/s)', digits: 1, ratio: false },
    { key: 'lossPct', title: 'worst receiver loss (%)', digits: 2, ratio: false },
    { key: 'copiesPerS', title: 'datagrams the agent sent (/s)', digits: 0, ratio: false },
  ] as const;
  for (const dp of values.datapaths.split(',')) {
    const rows = await onePath(dp as 'native' | 'js', Number(values.seconds), Number(values.runs));
    console.log(`\n${dp}: ${PPS} × ${SIZE}-byte datagrams/s for ${values.seconds} s to 3 hosts, medians of ${values.runs} runs\n`);
    console.log(renderTable(columns, rows));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

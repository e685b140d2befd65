/**
 * What a flood of garbage costs (issue 12, drop events): two namespace hosts
 * with an agent each and a third host without one that floods node1 with
 * garbage VXLAN (src/testkit/flood.ts: four drop reasons). For each data
 * path: node1's CPU time per dropped datagram (sampled drop events on), the
 * drop events that came out of it, and `overlayctl perf` node1 → node2
 * alone and while the flood runs. The CPU time is the agent's whole process
 * over the flood: the native workers' busy polling is in it, so it bounds
 * the cost of a drop from above. The sender (node:dgram) is the limit of
 * the flood's rate.
 *
 *     npx tsx bench/drop-flood.ts [--datapaths native,js] [--count 100000] [--seconds 2]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Topology } from '../src/testkit/topology.js';
import { cleanStaleRuns } from '../src/testkit/netns.js';
import { haveRoot } from '../src/testkit/ci.js';
import { startCluster, tearDown, waitFor, type AgentHandle } from '../src/testkit/agents.js';
import { FLOOD_REASONS, flood } from '../src/testkit/flood.js';
import type { PerfReport } from '../src/agent/operations.js';
import type { OverlayEvent } from '../src/agent/events.js';

const VNI = 4100;

/** CPU seconds (user + system) process `pid` used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ
}

const dropsOf = async (a: AgentHandle): Promise<number> => {
  const s = await a.ctl<{ drops: Record<string, number> }>('stats');
  return FLOOD_REASONS.reduce((n, r) => n + s.drops[r], 0);
};

async function one(datapath: 'native' | 'js', count: number, seconds: number): Promise<Record<string, unknown>> {
  const topo = await Topology.create({ hosts: 3 });
  let agents: AgentHandle[] = [];
  try {
    agents = await startCluster(topo, { datapath }, [1, 2]);
    await agents[0].ctl('network', 'create', 'blue', '--subnet', '198.19.1.0/24', '--vni', String(VNI));
    await waitFor('blue on node2', async () => (await agents[1].ctl<{ name: string }[]>('network', 'ls')).length === 1, 20_000);
    const perf = async (): Promise<number> => (await agents[0].ctl<PerfReport>('perf', 'blue', '--to', 'node2', '--seconds', String(seconds))).gbps;
    const idleGbps = await perf();

    const pid = agents[0].process.pid!;
    const [cpu0, drops0] = [cpuSeconds(pid), await dropsOf(agents[0])];
    const sent = await flood(topo.host(3).ns, agents[0].advertise, count, VNI);
    await new Promise((r) => setTimeout(r, 1000));
    const [cpu1, drops1] = [cpuSeconds(pid), await dropsOf(agents[0])];
    const events = (await agents[0].ctlRaw('events', '--type', 'drop', '--limit', '100000')).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as OverlayEvent);

    const floodDuring = flood(topo.host(3).ns, agents[0].advertise, 10 * count, VNI, (seconds + 2) * 1000);
    const floodGbps = await perf();
    const during = await floodDuring;
    return {
      datapath,
      sent: sent.sent,
      sentPerSec: Math.round(sent.sent / (sent.ms / 1000)),
      dropped: drops1 - drops0,
      cpuSeconds: +(cpu1 - cpu0).toFixed(2),
      cpuUsPerDrop: +(((cpu1 - cpu0) / Math.max(1, drops1 - drops0)) * 1e6).toFixed(2),
      dropEvents: events.length,
      idleGbps: +idleGbps.toFixed(2),
      floodGbps: +floodGbps.toFixed(2),
      floodPerSecDuringPerf: Math.round(during.sent / (during.ms / 1000)),
    };
  } finally {
    await tearDown(topo, agents);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { datapaths: { type: 'string', default: 'native,js' }, count: { type: 'string', default: '100000' }, seconds: { type: 'string', default: '2' } } });
  if (!haveRoot()) throw new Error('drop-flood needs root');
  cleanStaleRuns();
  const rows = [];
  for (const dp of values.datapaths.split(',')) rows.push(await one(dp as 'native' | 'js', Number(values.count), Number(values.seconds)));
  console.table(rows);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});

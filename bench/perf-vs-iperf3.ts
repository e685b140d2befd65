/**
 * `overlayctl perf` against iperf3 (and ping) on the same pair of hosts, in
 * one run (issue 12: perf's figures within 30% of iperf3's). Two namespace
 * hosts, an agent on each (native, one gossip key), a plain and an encrypted
 * network with a container per host; for each network and stream count,
 * runs alternate — iperf3 between the containers, then perf between the
 * agents — and the medians are compared, in both directions: `send`
 * (perf's default: host 1 sends to host 2; iperf3's client on host 1) and
 * `receive` (perf --reverse; iperf3's client on host 2).
 *
 *     npx tsx bench/perf-vs-iperf3.ts [--runs 3] [--seconds 5] [--streams 1,4] [--directions send,receive] [--json FILE]
 *
 * RTT: perf's UDP echo p50 beside ping's median, when ping is installed.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Topology } from '../src/testkit/topology.js';
import { cleanStaleRuns } from '../src/testkit/netns.js';
import { haveRoot, haveTool } from '../src/testkit/ci.js';
import { startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../src/testkit/agents.js';
import type { PerfReport } from '../src/agent/operations.js';
import { runIperf3 } from './lib/iperf3.js';
import { runPing } from './lib/ping.js';
import { median, repeat } from './lib/stats.js';

const NETWORKS = [
  { name: 'plain', subnet: '198.19.210.0/24', args: [] as string[] },
  { name: 'secret', subnet: '198.19.211.0/24', args: ['--encrypted'] },
];

interface Row {
  network: string;
  direction: string;
  streams: number;
  iperf3Gbps: number;
  perfGbps: number;
  /** perf / iperf3. */
  ratio: number;
  perfRttP50Ms: number;
  perfRttP99Ms: number;
  perfLossPct: number;
  pingMedianMs?: number;
  runs: { iperf3Gbps: number[]; perfGbps: number[] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' }, streams: { type: 'string', default: '1,4' }, directions: { type: 'string', default: 'send,receive' }, json: { type: 'string' } } });
  if (!haveRoot() || !haveTool('iperf3')) throw new Error('perf-vs-iperf3 needs root and iperf3');
  const runs = Number(values.runs);
  const seconds = Number(values.seconds);
  const streamCounts = values.streams.split(',').map(Number);
  const directions = values.directions.split(',');
  for (const d of directions) if (d !== 'receive' && d !== 'send') throw new Error(`--directions takes receive and send, not "${d}"`);
  cleanStaleRuns();
  const topo = await Topology.create({ hosts: 2 });
  let agents: AgentHandle[] = [];
  const rows: Row[] = [];
  try {
    agents = await startCluster(topo, { datapath: 'native', gossipKey: randomBytes(16).toString('base64') }, [1, 2]);
    for (const net of NETWORKS) {
      await agents[0].ctl('network', 'create', net.name, '--subnet', net.subnet, ...net.args);
      await waitFor(`${net.name} on host 2`, async () => (await agents[1].ctl<{ name: string }[]>('network', 'ls')).some((n) => n.name === net.name), 10_000);
      const eps: Endpoint[] = [];
      for (const a of agents) eps.push(await a.ctl<Endpoint>('endpoint', 'attach', net.name, '--netns', (await topo.container(a.hostIndex, net.name)).ns));
      await waitFor('both endpoints in both FDBs', async () => {
        for (const a of agents) if ((await a.ctl<unknown[]>('fdb', net.name)).length < 2) return false;
        return true;
      }, 20_000);
      const ping = haveTool('ping') ? await runPing({ ns: eps[0].netns, target: eps[1].ip, count: 200 }) : undefined;
      for (const [direction, streams] of directions.flatMap((d) => streamCounts.map((n) => [d, n] as const))) {
        // The receiver is iperf3's server: host 1 when perf receives, host 2 when it sends.
        const [rx, tx] = direction === 'send' ? [eps[1], eps[0]] : [eps[0], eps[1]];
        const reverse = direction === 'receive' ? ['--reverse'] : [];
        const pairs = await repeat(runs, async () => {
          const iperf = await runIperf3({ serverNs: rx.netns, serverAddr: rx.ip, clientNs: tx.netns, seconds, streams });
          const perf = await agents[0].ctl<PerfReport>('perf', net.name, '--to', agents[1].name, '--seconds', String(seconds), '--streams', String(streams), ...reverse);
          return { iperf, perf };
        });
        const iperf3Gbps = median(pairs.map((p) => p.iperf.gbps));
        const perfGbps = median(pairs.map((p) => p.perf.gbps));
        rows.push({
          network: net.name,
          direction,
          streams,
          iperf3Gbps,
          perfGbps,
          ratio: perfGbps / iperf3Gbps,
          perfRttP50Ms: median(pairs.map((p) => p.perf.rttP50Ms)),
          perfRttP99Ms: median(pairs.map((p) => p.perf.rttP99Ms)),
          perfLossPct: Math.max(...pairs.map((p) => p.perf.lossPct)),
          pingMedianMs: ping?.medianMs,
          runs: { iperf3Gbps: pairs.map((p) => p.iperf.gbps), perfGbps: pairs.map((p) => p.perf.gbps) },
        });
        const r = rows[rows.length - 1];
        console.log(
          `${r.network.padEnd(7)} ${direction.padEnd(8)} TCP ×${streams}  iperf3 ${r.iperf3Gbps.toFixed(2)} Gbit/s  perf ${r.perfGbps.toFixed(2)} Gbit/s  perf/iperf3 ${(r.ratio * 100).toFixed(0)}%` +
            `  rtt perf p50 ${r.perfRttP50Ms.toFixed(3)} ms p99 ${r.perfRttP99Ms.toFixed(3)} ms${ping ? `, ping median ${ping.medianMs.toFixed(3)} ms` : ''}  loss ${r.perfLossPct}%`,
        );
      }
    }
    if (!haveTool('ping')) console.log('ping is not installed: no ping column');
    console.log(`(medians of ${runs} runs of ${seconds} s, iperf3 and perf alternating)`);
    if (values.json) writeFileSync(values.json, JSON.stringify({ seconds, runs, rows }, null, 2));
  } finally {
    await tearDown(topo, agents);
  }
}

main().catch((err: Error) => {
  console.error(`perf-vs-iperf3: ${err.message}`);
  process.exit(1);
});

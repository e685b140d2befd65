/**
 * What a running capture costs the data path (issue 12): two namespace
 * hosts, a native agent on each, one plain network; `overlayctl perf` (TCP,
 * host 1 → host 2) alternately with no capture, with an outer capture on
 * host 1 whose --host filter takes nothing (the data path's filter at work),
 * and with an outer capture of everything (every datagram copied to the
 * agent, written to /dev/null). Prints the median Gbit/s of each and the
 * punt_overflow drops the captures caused (a capture never blocks
 * forwarding: what the agent cannot take in time is dropped and counted).
 *
 *     npx tsx bench/capture-cost.ts [--runs 2] [--seconds 3] [--workers N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Topology } from '../src/testkit/topology.js';
import { haveRoot } from '../src/testkit/ci.js';
import { startCluster, tearDown, type AgentHandle, type Endpoint } from '../src/testkit/agents.js';
import type { PerfReport } from '../src/agent/operations.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '2' }, seconds: { type: 'string', default: '3' }, workers: { type: 'string' } } });
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);
const MODES = {
  none: [] as string[],
  'filtered (takes nothing)': ['--host', '198.19.212.250'],
  'everything': [] as string[],
};

/** An outer capture of blue on `agent`'s host, written to /dev/null, until killed. */
function startCapture(agent: AgentHandle, args: string[]): ChildProcess {
  const argv = [agent.ctlPath, '--socket', agent.socket, 'capture', 'blue', '-w', '/dev/null', '--outer', ...args, '--duration', '600'];
  return spawn(process.execPath, argv, { stdio: 'ignore' });
}

if (!haveRoot()) throw new Error('capture-cost needs root');
const topo = await Topology.create({ hosts: 2 });
let agents: AgentHandle[] = [];
try {
  const extraArgs = values.workers ? ['--workers', values.workers] : [];
  agents = await startCluster(topo, { datapath: 'native', gossipKey: randomBytes(16).toString('base64'), extraArgs }, [1, 2]);
  await agents[0].ctl('network', 'create', 'blue', '--subnet', '198.19.212.0/24');
  for (const h of [1, 2]) {
    const c = await topo.container(h, `c${h}`);
    await agents[h - 1].ctl<Endpoint>('endpoint', 'attach', 'blue', '--netns', c.ns, '--ip', `198.19.212.${10 + h}`);
  }
  const overflows = async () => (await agents[0].ctl<{ drops: Record<string, number> }>('stats')).drops.punt_overflow ?? 0;
  const gbps: Record<string, number[]> = Object.fromEntries(Object.keys(MODES).map((m) => [m, []]));
  const dropped: Record<string, number> = Object.fromEntries(Object.keys(MODES).map((m) => [m, 0]));
  for (let run = 0; run < RUNS; run++) {
    for (const [mode, args] of Object.entries(MODES)) {
      const before = await overflows();
      const capture = mode === 'none' ? undefined : startCapture(agents[0], args);
      if (capture) await new Promise((r) => setTimeout(r, 500));
      const r = await agents[0].ctl<PerfReport>('perf', 'blue', '--to', agents[1].name, '--seconds', String(SECONDS));
      gbps[mode].push(r.gbps);
      dropped[mode] += (await overflows()) - before;
      capture?.kill('SIGTERM'); // the client goes away: the agent ends the session
    }
  }
  console.log(`perf blue host 1 → host 2, ${SECONDS} s × ${RUNS} runs, median Gbit/s (native${values.workers ? `, --workers ${values.workers}` : ''}):`);
  for (const mode of Object.keys(MODES)) console.log(`  ${mode.padEnd(26)} ${median(gbps[mode]).toFixed(2).padStart(6)} Gbit/s   punt_overflow +${dropped[mode]}`);
} finally {
  await tearDown(topo, agents);
}

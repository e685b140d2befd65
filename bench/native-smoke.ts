/**
 * Native data path smoke benchmark: the two-namespace topology
 * (bench/native-smoke/topology.ts) twice — `ovt<pid>k{a,b}` with kernel
 * `vxlan` devices, `ovt<pid>n{a,b}` with TAPs driven by NativeDatapath — then,
 * alternating between them, iperf3 (1 and 4 streams, 5 s) and ping RTT
 * across the overlay. Prints the medians of 3 runs and the ratio
 * native/kernel. Needs root, iperf3 and ping; removes everything it made,
 * also on failure or Ctrl-C.
 *
 *   npx tsx bench/native-smoke.ts [--runs N] [--seconds S]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { SIDES, SmokeTopology, nsRun } from './native-smoke/topology.js';

interface Sample {
  gbit1: number;
  gbit4: number;
  rttMs: number;
}

const argValue = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = argValue('--runs', 3);
const SECONDS = argValue('--seconds', 5);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

async function iperf(ns: string, streams: number): Promise<number> {
  const out = await nsRun(
    ns,
    ['iperf3', '-c', SIDES[1].overlay, '-t', String(SECONDS), '-P', String(streams), '-J', '--connect-timeout', '3000'],
    (SECONDS + 20) * 1000,
  );
  const report = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return report.end.sum_received.bits_per_second / 1e9;
}

async function pingRtt(ns: string): Promise<number> {
  const out = await nsRun(ns, ['ping', '-c', '50', '-i', '0.02', '-q', SIDES[1].overlay], 30_000);
  const m = /= [\d.]+\/([\d.]+)\//.exec(out);
  if (!m) throw new Error(`cannot parse ping output: ${out}`);
  return Number(m[1]);
}

/** One overlay under test: its topology and the iperf3 server on side b. */
interface Subject {
  mode: 'kernel' | 'native';
  topo: SmokeTopology;
  server: ChildProcess;
  samples: Sample[];
}

async function setUp(mode: 'kernel' | 'native', prefix: string): Promise<Subject> {
  const topo = await SmokeTopology.create(prefix);
  cleanups.add(() => topo.destroy());
  let server: ChildProcess | undefined;
  try {
    if (mode === 'native') await topo.addNativeOverlay();
    else await topo.addKernelOverlay();
    server = spawn('ip', ['netns', 'exec', topo.ns[1], 'iperf3', '-s', '-B', SIDES[1].overlay], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    await pingRtt(topo.ns[0]); // warm-up: neighbour and FDB paths, page faults
    return { mode, topo, server, samples: [] };
  } catch (err) {
    server?.kill();
    await topo.destroy();
    throw err;
  }
}

async function measureOnce(s: Subject, run: number): Promise<void> {
  const gbit1 = await iperf(s.topo.ns[0], 1);
  const gbit4 = await iperf(s.topo.ns[0], 4);
  const rttMs = await pingRtt(s.topo.ns[0]);
  s.samples.push({ gbit1, gbit4, rttMs });
  console.error(`${s.mode} run ${run}: 1 stream ${gbit1.toFixed(2)} Gbit/s, 4 streams ${gbit4.toFixed(2)} Gbit/s, RTT ${rttMs.toFixed(3)} ms`);
}

const cleanups = new Set<() => Promise<void>>();
process.on('SIGINT', () => {
  // iperf3 servers die with their namespaces' processes when the peers and namespaces go.
  void Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(130));
});

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  const prefix = `ovt${process.pid}`;
  // Both overlays stay up and the runs alternate, so a load change on a shared machine hits both alike.
  const subjects: Subject[] = [];
  try {
    subjects.push(await setUp('kernel', `${prefix}k`));
    subjects.push(await setUp('native', `${prefix}n`));
    for (let run = 1; run <= RUNS; run++) for (const s of subjects) await measureOnce(s, run);
    const native = subjects[1]!;
    console.error(`native counters (side a): ${JSON.stringify(await native.topo.peers[0]!.command('counters'))}`);
    console.error(`native offloads (side a): ${JSON.stringify(await native.topo.peers[0]!.command('offloads'))}`);
  } finally {
    for (const s of subjects) s.server.kill();
    await Promise.allSettled(subjects.map((s) => s.topo.destroy()));
  }
  const med = (s: Subject) => ({
    gbit1: median(s.samples.map((x) => x.gbit1)),
    gbit4: median(s.samples.map((x) => x.gbit4)),
    rtt: median(s.samples.map((x) => x.rttMs)),
  });
  const k = med(subjects[0]!);
  const n = med(subjects[1]!);
  console.log(`median of ${RUNS} runs, iperf3 -t ${SECONDS}, kernel and native runs alternating`);
  console.log('| path | 1 stream Gbit/s | 4 streams Gbit/s | ping RTT ms |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| kernel vxlan | ${k.gbit1.toFixed(2)} | ${k.gbit4.toFixed(2)} | ${k.rtt.toFixed(3)} |`);
  console.log(`| native | ${n.gbit1.toFixed(2)} | ${n.gbit4.toFixed(2)} | ${n.rtt.toFixed(3)} |`);
  console.log(`| native/kernel | ${(n.gbit1 / k.gbit1).toFixed(2)}x | ${(n.gbit4 / k.gbit4).toFixed(2)}x | ${(n.rtt / k.rtt).toFixed(2)}x |`);
}

main().catch((err: Error) => {
  console.error(`native-smoke failed: ${err.message}`);
  process.exitCode = 1;
});

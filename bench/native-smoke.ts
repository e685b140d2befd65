/**
 * Native data path smoke benchmark: the same two-namespace topology
 * (bench/native-smoke/topology.ts) once with kernel `vxlan` devices and once
 * with TAPs driven by NativeDatapath, then iperf3 (1 and 4 streams, 5 s) and
 * ping RTT across the overlay. Prints the medians of 3 runs and the ratio
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

async function measure(mode: 'kernel' | 'native', prefix: string): Promise<Sample[]> {
  const topo = await SmokeTopology.create(prefix);
  let server: ChildProcess | undefined;
  cleanups.add(() => topo.destroy());
  try {
    if (mode === 'native') await topo.addNativeOverlay();
    else await topo.addKernelOverlay();
    server = spawn('ip', ['netns', 'exec', topo.ns[1], 'iperf3', '-s', '-B', SIDES[1].overlay], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    await pingRtt(topo.ns[0]); // warm-up: neighbour and FDB paths, page faults
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      const gbit1 = await iperf(topo.ns[0], 1);
      const gbit4 = await iperf(topo.ns[0], 4);
      const rttMs = await pingRtt(topo.ns[0]);
      samples.push({ gbit1, gbit4, rttMs });
      console.error(`${mode} run ${i + 1}: 1 stream ${gbit1.toFixed(2)} Gbit/s, 4 streams ${gbit4.toFixed(2)} Gbit/s, RTT ${rttMs.toFixed(3)} ms`);
    }
    if (mode === 'native') console.error(`native counters (side a): ${JSON.stringify(await topo.peers[0]!.command('counters'))}`);
    return samples;
  } finally {
    server?.kill();
    await topo.destroy();
  }
}

const cleanups = new Set<() => Promise<void>>();
process.on('SIGINT', () => {
  void Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(130));
});

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  const prefix = `ovt${process.pid}`;
  const kernel = await measure('kernel', prefix);
  const native = await measure('native', prefix);
  const k = { gbit1: median(kernel.map((s) => s.gbit1)), gbit4: median(kernel.map((s) => s.gbit4)), rtt: median(kernel.map((s) => s.rttMs)) };
  const n = { gbit1: median(native.map((s) => s.gbit1)), gbit4: median(native.map((s) => s.gbit4)), rtt: median(native.map((s) => s.rttMs)) };
  console.log(`median of ${RUNS} runs, iperf3 -t ${SECONDS}`);
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

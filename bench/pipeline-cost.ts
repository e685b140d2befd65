/**
 * Instructions per frame of the native pipeline (native/pipeline/), without
 * I/O or N-API: bench/pipeline-cost/driver.c is built with the addon's own
 * compiler flags (read from binding.gyp, so -flto and hidden visibility
 * count as they do in the addon) and each case runs under callgrind, which
 * counts the same on every run however busy the machine is. Without
 * valgrind it times the cases instead (noisy on a shared machine).
 *
 *   npx tsx bench/pipeline-cost.ts [--frames N] [--json FILE]
 *
 * Cases: egress (a 1464-byte TCP frame that fits), fragments (4000 bytes,
 * DF clear → 3 fragments), too-big (4000 bytes, DF → ICMP), arp (a request
 * answered by the proxy), ingress (a 1472-byte VXLAN datagram delivered),
 * broadcast3 (the egress frame to the broadcast MAC on a multicast network
 * with 3 VTEPs: one encapsulation, three copies), broadcast3-storm (the same
 * with storm control at a rate it never reaches).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { haveTool } from '../src/testkit/ci.js';
import { runIfMain, withTempDir } from './lib/main.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE = join(ROOT, 'native');
export const CASES = ['egress', 'fragments', 'too-big', 'arp', 'ingress', 'broadcast3', 'broadcast3-storm'] as const;
export type PipelineCase = (typeof CASES)[number];

/** The C flags binding.gyp gives the addon, plus what node-gyp adds for a Release shared object. */
export function addonFlags(): string[] {
  const gyp = JSON.parse(readFileSync(join(ROOT, 'binding.gyp'), 'utf8')) as { targets: { cflags?: string[]; cflags_c?: string[] }[] };
  const t = gyp.targets[0];
  return [...(t.cflags ?? []), ...(t.cflags_c ?? []), '-O3', '-fPIC', '-pthread'];
}

/** Builds the driver into `dir`; returns the executable's path. */
export function buildDriver(dir: string): string {
  const pipeline = readdirSync(join(NATIVE, 'pipeline')).filter((f) => f.endsWith('.c')).map((f) => join(NATIVE, 'pipeline', f));
  const tables = ['tables/tables.c', 'tables/peers.c', 'tables/oa_table.c', 'tables/groups.c', 'base/addr.c', 'base/csum.c'];
  const sources = [...pipeline, ...tables.map((f) => join(NATIVE, f))];
  const flags = addonFlags();
  const lib = join(dir, 'libpipeline-cost.so');
  execFileSync('gcc', [...flags, '-shared', `-I${NATIVE}`, join(ROOT, 'bench/pipeline-cost/driver.c'), ...sources, '-o', lib], { stdio: 'inherit' });
  const exe = join(dir, 'pipeline-cost');
  execFileSync('gcc', ['-O2', join(ROOT, 'bench/pipeline-cost/main.c'), lib, `-Wl,-rpath,${dir}`, '-o', exe], { stdio: 'inherit' });
  return exe;
}

/** Runs `frames` frames of `what`; returns how many passed the pipeline. */
export function runCase(exe: string, what: PipelineCase, frames: number): number {
  return Number(execFileSync(exe, [what, String(frames)], { encoding: 'utf8' }).trim());
}

/** Instructions per frame of `what`, counted by callgrind inside pipeline_cost_loop. */
export function instructionsPerFrame(exe: string, dir: string, what: PipelineCase, frames: number): number {
  const out = join(dir, `callgrind.${what}`);
  execFileSync('valgrind', ['--tool=callgrind', '--toggle-collect=pipeline_cost_loop', `--callgrind-out-file=${out}`, exe, what, String(frames)], { stdio: 'ignore' });
  const totals = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, 'utf8'));
  if (!totals) throw new Error(`no totals in ${out}`);
  return Number(totals[1]) / frames;
}

/** Nanoseconds per frame of `what` by the clock: the difference between 2N and N frames, best of 3. */
function nanosecondsPerFrame(exe: string, what: PipelineCase, frames: number): number {
  const time = (n: number): number => {
    const t0 = process.hrtime.bigint();
    runCase(exe, what, n);
    return Number(process.hrtime.bigint() - t0);
  };
  let best = Infinity;
  for (let i = 0; i < 3; i++) best = Math.min(best, (time(2 * frames) - time(frames)) / frames);
  return best;
}

function main(): void {
  const { values } = parseArgs({ options: { frames: { type: 'string', default: '20000' }, json: { type: 'string' } } });
  const frames = Number(values.frames);
  if (!haveTool('gcc')) throw new Error('bench/pipeline-cost.ts needs gcc');
  const counted = haveTool('valgrind');
  withTempDir('overlayd-pipeline-cost-', (dir) => {
    const exe = buildDriver(dir);
    const rows: Record<string, number> = {};
    for (const what of CASES) {
      rows[what] = counted ? instructionsPerFrame(exe, dir, what, frames) : nanosecondsPerFrame(exe, what, frames * 50);
    }
    const unit = counted ? 'instructions / frame (callgrind)' : 'ns / frame (clock; install valgrind for counts)';
    console.log(`| case | ${unit} |\n| --- | ---: |`);
    for (const [what, v] of Object.entries(rows)) console.log(`| ${what} | ${v.toFixed(counted ? 0 : 1)} |`);
    if (values.json) writeFileSync(values.json, JSON.stringify({ unit, rows }, null, 2));
  });
}

runIfMain(import.meta.url, main);

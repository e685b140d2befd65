/**
 * What a dropped datagram costs the native worker on top of the pipeline's
 * verdict: drop_offer (native/io/drop_sampler.h) — the per-network count, a
 * coarse clock read, the token check and the worker's own suppressed count —
 * with 1 and 2 threads offering drops of the same reason at once (the
 * shared bucket is read by both). Built with the addon's compiler flags
 * (bench/pipeline-cost.ts); timed by the clock, so noisy on a shared machine.
 *
 *     npx tsx bench/drop-sampler-cost.ts [--drops 10000000]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE = join(ROOT, 'native');

function main(): void {
  const { values } = parseArgs({ options: { drops: { type: 'string', default: '10000000' } } });
  const gyp = JSON.parse(readFileSync(join(ROOT, 'binding.gyp'), 'utf8')) as { targets: { cflags?: string[]; cflags_c?: string[] }[] };
  const flags = [...(gyp.targets[0].cflags ?? []), ...(gyp.targets[0].cflags_c ?? []), '-pthread'];
  const dir = mkdtempSync(join(tmpdir(), 'overlayd-drop-sampler-'));
  try {
    const exe = join(dir, 'drop-sampler-cost');
    execFileSync('gcc', [...flags, `-I${NATIVE}`, join(ROOT, 'bench/drop-sampler-cost/main.c'), join(NATIVE, 'io/drop_events.c'), '-o', exe], { stdio: 'inherit' });
    console.log('| threads | ns / drop (each thread) | events sampled |\n| ---: | ---: | ---: |');
    for (const threads of [1, 2]) {
      const best = Array.from({ length: 3 }, () => execFileSync(exe, [String(threads), values.drops], { encoding: 'utf8' }).trim().split(' ')).sort((a, b) => Number(a[0]) - Number(b[0]))[0];
      console.log(`| ${threads} | ${Number(best[0]).toFixed(1)} | ${best[1]} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();

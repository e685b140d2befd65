/**
 * What a thread wake-up costs here, the unit of a userspace tunnel's round
 * trip (docs/performance.md, "Where a round trip's time goes"): two threads
 * pass a token through eventfd + epoll every 10 ms, on the same CPU, on two
 * CPUs, and where the scheduler puts them. Each round trip is two wake-ups.
 *
 *     npx tsx bench/wake-latency.ts [--rounds 200]
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { haveTool } from '../src/testkit/ci.js';
import { runIfMain, withTempDir } from './lib/main.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function main(): void {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '200' } } });
  if (!haveTool('gcc')) throw new Error('bench/wake-latency.ts needs gcc');
  withTempDir('overlayd-wake-', (dir) => {
    const exe = join(dir, 'wake');
    execFileSync('gcc', ['-O2', '-pthread', join(ROOT, 'bench/wake-latency/main.c'), '-o', exe], { stdio: 'inherit' });
    const placements = [
      ['where the scheduler puts them', '-1', '-1'],
      ['both on CPU 0', '0', '0'],
      ['CPU 0 and CPU 1', '0', '1'],
    ].slice(0, cpus().length > 1 ? 3 : 2);
    console.log('| threads | round trip µs, median | p10 | p90 |\n| --- | ---: | ---: | ---: |');
    for (const [name, a, b] of placements) {
      const [median, p10, p90] = execFileSync(exe, [a, b, values.rounds], { encoding: 'utf8' }).trim().split(' ');
      console.log(`| ${name} | ${median} | ${p10} | ${p90} |`);
    }
  });
}

runIfMain(import.meta.url, main);

/**
 * The native checksum's speed on TSO segments (bench/checksum/main.c, built
 * with the addon's compiler flags): summing alone, copying then summing, and
 * csum_copy doing both in one pass.
 *
 *     npx tsx bench/checksum.ts
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { haveTool } from '../src/testkit/ci.js';
import { runIfMain, withTempDir } from './lib/main.js';
import { addonFlags } from './pipeline-cost.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function main(): void {
  if (!haveTool('gcc')) throw new Error('bench/checksum.ts needs gcc');
  withTempDir('overlayd-checksum-', (dir) => {
    const exe = join(dir, 'checksum');
    const native = join(ROOT, 'native');
    execFileSync('gcc', [...addonFlags(), `-I${native}`, join(ROOT, 'bench/checksum/main.c'), join(native, 'base/csum.c'), '-o', exe], { stdio: 'inherit' });
    const [sum, copyThenSum, fused] = execFileSync(exe, { encoding: 'utf8' }).trim().split(' ');
    console.log('| 1448-byte segments, 4 MB buffer | GB/s (best of 5) |\n| --- | ---: |');
    console.log(`| csum_add (the receiver's verification) | ${sum} |`);
    console.log(`| memcpy, then csum_add | ${copyThenSum} |`);
    console.log(`| csum_copy (TSO segmentation) | ${fused} |`);
  });
}

runIfMain(import.meta.url, main);

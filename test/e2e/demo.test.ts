/**
 * The demo as a new user meets it on a machine without ping and iperf3
 * (issue 12): `scripts/demo.ts`, the real one, run with a PATH that holds
 * everything the machine has but ping and iperf3 (a folder of symlinks).
 * It must succeed, reach every pair, show peers up, doctor without failures, trace's verdicts, give perf's figures on both networks,
 * say in one line that iperf3 is missing, and leave nothing behind.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HIDDEN = new Set(['ping', 'ping4', 'ping6', 'iperf3', 'iperf']);
const ready = requirement(haveRoot() && haveTools('ip', 'unshare', 'nsenter'), 'the demo test needs root, ip, unshare and nsenter');

/** A folder with a symlink to every program on PATH (first one wins) but the hidden ones, and to this node. */
function pathWithout(hidden: Set<string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ovt-demo-path-'));
  const seen = new Set<string>(hidden);
  symlinkSync(process.execPath, join(dir, 'node'));
  seen.add('node');
  for (const from of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(from);
    } catch {
      continue;
    }
    for (const name of names) {
      if (seen.has(name)) continue;
      seen.add(name);
      symlinkSync(join(from, name), join(dir, name));
    }
  }
  return dir;
}

/** Runs argv with `env`; resolves with the exit code and everything it printed. */
function runDemo(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'scripts/demo.ts')], { cwd: ROOT, env });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs); // the demo cleans up on SIGINT
    child.on('close', (code) => (clearTimeout(timer), done({ code, output })));
  });
}

describe.skipIf(!ready)('npm run demo without ping and iperf3', () => {
  const bin = pathWithout(HIDDEN);
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('succeeds with overlayd\'s own checks and says what is missing', async () => {
    expect(readdirSync(bin).filter((n) => HIDDEN.has(n))).toEqual([]);
    const { code, output } = await runDemo({ ...process.env, PATH: bin }, 280_000);
    if (code !== 0) console.log(output);
    expect(code).toBe(0);
    expect(output).not.toMatch(/FAIL/);
    expect(output).toMatch(/all pairs reachable/);
    // peers: both other hosts up over the data path; doctor: no check fails.
    expect(output).toMatch(/198\.18\.0\.2\s+node2\s+demo\s+up/);
    expect(output).toMatch(/198\.18\.0\.3\s+node3\s+demo\s+up/);
    expect(output).toMatch(/node1: \d+ checks ok, \d+ warnings?, 0 failures/);
    // trace: a packet forwarded to a remote endpoint, one for an unknown address, one too big.
    expect(output).toMatch(/Verdict: forward — udp 198\.18\.0\.1:\d+ → 198\.18\.0\.2:4789, vni \d+/);
    expect(output).toMatch(/Verdict: drop \(arp_unknown\)/);
    expect(output).toMatch(/Verdict: drop \(too_big\)/);
    // perf on the plain and the encrypted network, no loss.
    expect(output.match(/throughput\s+[\d.]+ Gbit\/s/g)).toHaveLength(2);
    expect(output.match(/loss\s+0%/g)).toHaveLength(2);
    expect(output).toMatch(/vni \d+, encrypted\)/);
    // One line for the missing optional tool, once per network.
    expect(output.match(/iperf3 is not installed/g)).toHaveLength(2);
    expect(output).toMatch(/nothing left behind/);
  }, 300_000);
});

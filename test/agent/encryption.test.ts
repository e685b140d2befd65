import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_INTERVAL_MS, MAX_SA_RATE, SequenceCheckpoints, rotationDue, scheduledRotator } from '../../src/agent/encryption.js';
import { newEncryption } from '../../src/cluster/network-keys.js';
import type { SaInfo } from '../../src/dataplane/datapath.js';

const dirs: string[] = [];
const stateDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'ovt-seq-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const out = (seq: number, keyTag = 7): SaInfo => ({ direction: 'out', vni: 4096, peer: '198.18.0.2', keyTag, spi: 0x1234, seq });

describe('outbound sequence checkpoints', () => {
  it('a restarted sender starts past everything it can have sent since the last checkpoint', () => {
    const dir = stateDir();
    const now = 1_000_000;
    const first = new SequenceCheckpoints(dir, () => now);
    expect(first.start(out(0), now, true)).toBe(0); // a brand-new key: from 1
    first.record([out(5_000_000)], new Set([7, 8]));
    first.save();
    expect(statSync(join(dir, 'esp-sequences.json')).mode & 0o777).toBe(0o600);
    const again = new SequenceCheckpoints(dir, () => now);
    const start = again.start(out(0), now, true);
    // Twice the checkpoint interval at the fastest rate an SA can send.
    expect(start).toBe(5_000_000 + MAX_SA_RATE * ((2 * CHECKPOINT_INTERVAL_MS) / 1000));
    // Another key or peer has its own counter.
    expect(again.start(out(0, 8), now, true)).toBe(0);
  });

  it('with a lost state directory, the clock floor keeps an ESN sender above anything it can have used', () => {
    const created = 0;
    const cp = new SequenceCheckpoints(stateDir(), () => 3_600_000); // the key is an hour old
    expect(cp.start(out(0), created, true)).toBe(3600 * MAX_SA_RATE);
    expect(cp.start(out(0), created, true)).toBeLessThan(Number.MAX_SAFE_INTEGER);
  });

  it('32-bit SAs get no clock floor (it would exhaust them) and never start past the rekey point', () => {
    const dir = stateDir();
    const cp = new SequenceCheckpoints(dir, () => 3_600_000);
    expect(cp.start(out(0), 0, false)).toBe(0);
    cp.record([out(2 ** 31 - 5)], new Set([7, 8]));
    cp.save();
    expect(new SequenceCheckpoints(dir).start(out(0), 0, false)).toBe(2 ** 31);
  });

  it('a damaged checkpoint file is ignored, not fatal', () => {
    const dir = stateDir();
    const cp = new SequenceCheckpoints(dir, () => 0);
    cp.record([out(10)], new Set([7, 8]));
    cp.save();
    rmSync(join(dir, 'esp-sequences.json'));
    writeFileSync(join(dir, 'esp-sequences.json'), '{not json');
    expect(new SequenceCheckpoints(dir, () => 0).start(out(0), 0, true)).toBe(0);
  });
});

describe('rotation schedule', () => {
  it('is due once the sending key is older than the interval', () => {
    const e = newEncryption({}, 1000);
    expect(rotationDue(e, 60_000, 60_999)).toBe(false);
    expect(rotationDue(e, 60_000, 61_000)).toBe(true);
  });

  it('the creator rotates while alive, else the first live holder by name', () => {
    const alive = new Set(['n2', 'n3']);
    expect(scheduledRotator('n2', ['n3', 'n2'], (n) => alive.has(n))).toBe('n2');
    expect(scheduledRotator('n1', ['n3', 'n2'], (n) => alive.has(n))).toBe('n2');
    expect(scheduledRotator('n1', ['n1'], (n) => alive.has(n))).toBeUndefined();
  });
});

describe('inbound window checkpoints', () => {
  it('a restarted receiver starts each window at the top it had reached; other SAs start empty', () => {
    const dir = stateDir();
    const cp = new SequenceCheckpoints(dir, () => 0);
    const inbound: SaInfo = { ...out(77_000), direction: 'in' };
    cp.record([out(5), inbound], new Set([7, 8]));
    cp.save();
    const again = new SequenceCheckpoints(dir, () => 0);
    expect(again.windowStart(inbound)).toBe(77_000);
    expect(again.windowStart({ ...inbound, keyTag: 8 })).toBe(0);
    // Directions do not mix: the outbound checkpoint is not a window start.
    expect(again.windowStart({ ...inbound, vni: 1 })).toBe(0);
    expect(again.start(out(0), 0, true)).toBe(5 + MAX_SA_RATE * ((2 * CHECKPOINT_INTERVAL_MS) / 1000));
  });
});

describe('checkpoints of SAs the path no longer holds', () => {
  it('are kept while their key is in a ring (a peer that is down resumes from them) and dropped with the key', () => {
    const dir = stateDir();
    const cp = new SequenceCheckpoints(dir, () => 0);
    const inbound: SaInfo = { ...out(500), direction: 'in' };
    cp.record([inbound], new Set([7]));
    cp.record([], new Set([7])); // the peer went down: its SAs are gone from the path
    expect(cp.windowStart(inbound)).toBe(500);
    cp.record([], new Set([9])); // key 7 rotated out of every ring
    expect(cp.windowStart(inbound)).toBe(0);
  });
});

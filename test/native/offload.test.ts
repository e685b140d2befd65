/**
 * The TAP offloads of the native path (native/tap/offload.c): coalescing TCP
 * segments and UDP datagrams into one super-frame, and cutting super-frames
 * into segments, checked against each other as the kernel's contract has it
 * (what is coalesced and written must come back from the kernel's
 * segmentation byte for byte), plus 20 000 mutated frames under the address
 * and undefined-behaviour sanitizers: test/native/offload-check.c.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveTool, requirement } from '../../src/testkit/ci.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'overlayd-offload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!requirement(haveTool('cc'), 'needs a C compiler (cc)'))('gro_* and gso_segment', () => {
  it('give back exactly the frames they coalesced, refuse what must not be joined, and survive mutated frames', () => {
    const bin = join(dir, 'offload-check');
    const native = join(ROOT, 'native');
    const sources = [join(ROOT, 'test/native/offload-check.c'), join(native, 'tap/offload.c'), join(native, 'base/csum.c')];
    execFileSync('cc', ['-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-I', native, ...sources, '-o', bin]);
    expect(execFileSync(bin, { encoding: 'utf8' }).trim()).toBe('ok');
  });
});

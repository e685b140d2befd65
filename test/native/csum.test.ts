/**
 * The Internet checksum of the native path (native/base/csum.c: an AVX2 loop
 * where the CPU has it, the scalar loop for the rest) against the RFC 1071
 * definition: test/native/csum-check.c, built with the addon's compiler.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveTool, requirement } from '../../src/testkit/ci.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'overlayd-csum-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!requirement(haveTool('cc'), 'needs a C compiler (cc)'))('csum_add', () => {
  it('equals the RFC 1071 sum at every length, alignment and carry', () => {
    const bin = join(dir, 'csum-check');
    const native = join(ROOT, 'native');
    execFileSync('cc', ['-O2', '-flto=auto', '-I', native, join(ROOT, 'test/native/csum-check.c'), join(native, 'base/csum.c'), '-o', bin]);
    expect(execFileSync(bin, { encoding: 'utf8' }).trim()).toBe('ok');
  });
});

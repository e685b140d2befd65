/**
 * C checkers of native code that has no binding of its own (the checksum,
 * the TAP offloads): test/native/<name>.c, built with `cc` against sources
 * under native/, run, and its output returned ("ok" when it passed).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveTool, requirement } from '../../src/testkit/ci.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NATIVE = join(ROOT, 'native');

/** Whether a C compiler is here: locally false (skip) without one, under CI a failure. */
export const haveCc = (): boolean => requirement(haveTool('cc'), 'needs a C compiler (cc)');

/** Builds test/native/`name`.c with `nativeSources` (paths under native/) and `flags`, runs it, returns its trimmed stdout. */
export function runCCheck(name: string, nativeSources: string[], flags: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), `overlayd-${name}-`));
  try {
    const bin = join(dir, name);
    const sources = [join(ROOT, 'test/native', `${name}.c`), ...nativeSources.map((s) => join(NATIVE, s))];
    execFileSync('cc', [...flags, '-I', NATIVE, ...sources, '-o', bin]);
    return execFileSync(bin, { encoding: 'utf8' }).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Requirements of tests that need root or an external tool. Locally a test
 * whose requirement is missing is skipped (with a message saying why);
 * under `CI=true` a missing requirement is a failure, never a skip.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { HarnessError } from './errors.js';

/** True when running under CI (`CI=true` or `CI=1`). */
export function isCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/**
 * Returns `ok`. When `ok` is false: under CI throws `REQUIREMENT_MISSING`
 * with `why`; locally prints `why` and returns false so the caller skips, e.g.
 * `describe.skipIf(!requirement(haveRoot(), 'needs root'))(…)`.
 */
export function requirement(ok: boolean, why: string): boolean {
  if (ok) return true;
  if (isCi()) throw new HarnessError('REQUIREMENT_MISSING', `requirement missing under CI: ${why}`);
  console.warn(`skipped: ${why}`);
  return false;
}

/** True when the process runs as root (needed for namespaces, nftables, tcpdump). */
export function haveRoot(): boolean {
  return process.getuid?.() === 0;
}

/** True when an executable called `name` is on PATH (or `name` is an executable path). */
export function haveTool(name: string): boolean {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** True when every named tool is on PATH. */
export function haveTools(...names: string[]): boolean {
  return names.every(haveTool);
}

/** Root plus `ip` (iproute2): what every namespace test needs. */
export function haveNetns(): boolean {
  return haveRoot() && haveTool('ip');
}

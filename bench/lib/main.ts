/** What every bench entry point does: run when invoked directly, report a failure in one line, work in a scratch directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Runs `main` when the module at `moduleUrl` is the process's entry point; a thrown error prints `bench: <message>` and exits 1. */
export function runIfMain(moduleUrl: string, main: () => void): void {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  try {
    main();
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    process.exit(1);
  }
}

/** Calls `fn` with a fresh directory under the system's temporary directory, removed afterwards. */
export function withTempDir<T>(prefix: string, fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

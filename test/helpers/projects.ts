/**
 * Which test files may run side by side (vitest.config.ts's projects). A
 * file that uses the namespace harness, agents, root or the machine's
 * devices, or measures costs (test/harness/), is a `system` file: those run
 * one at a time, as they share the kernel. The others are `unit` files
 * (codecs, tables, simulations, interop against local processes on their
 * own ports): they run two at a time, before the system files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** What makes a file a system file: the harness modules that make namespaces, devices or agents, or root. */
const SYSTEM_MARK = /src\/testkit\/(topology|agents|netns|containerd|dockerd|docker-plugin|cni|process|flood|run|resources)\.js|haveRoot\(/;

/** The leak check, which runs after every other file. */
export const LEAK_CHECK = 'test/zz-leaks.test.ts';

/** The system test files under `root`/test, as paths relative to `root`. */
export function systemTestFiles(root: string): string[] {
  const dir = join(root, 'test');
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => relative(root, join(dir, f)))
    .filter((f) => f !== LEAK_CHECK && (f.startsWith('test/harness/') || SYSTEM_MARK.test(readFileSync(join(root, f), 'utf8'))))
    .sort();
}

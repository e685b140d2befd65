/** TypeScript nodes on loopback for the interop tests, and polling helpers. */
import { Memberlist, type MemberlistOptions } from '../../../src/gossip/memberlist.js';
import type { Delegates } from '../../../src/gossip/delegates.js';

/** Starts a TypeScript node on 127.0.0.1 with a free port. */
export function startTsNode(name: string, options: Partial<MemberlistOptions> = {}, delegates: Delegates = {}): Promise<Memberlist> {
  return Memberlist.create({ name, bindAddr: '127.0.0.1', bindPort: 0, ...options }, delegates);
}

/** State of `name` in a TypeScript node's table ('unknown' when absent). */
export function tsState(m: Memberlist, name: string): string {
  return m.members().find((n) => n.name === name)?.state ?? 'unknown';
}

/** Polls `check` every 50 ms until it holds; throws with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

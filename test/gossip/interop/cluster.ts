/**
 * The fixture every interop test file shares: Go memberlist peers and
 * TypeScript nodes on loopback, all stopped after each test, and polling
 * helpers.
 */
import { afterEach, beforeAll } from 'vitest';
import { Memberlist, type MemberlistOptions } from '../../../src/gossip/memberlist.js';
import type { Delegates } from '../../../src/gossip/delegates.js';
import { needGo } from '../../../src/testkit/go.js';
import { GoPeer, buildGoPeer } from '../../../src/testkit/go-peer.js';

/** Starts a TypeScript node on 127.0.0.1 with a free port. */
export function startTsNode(name: string, options: Partial<MemberlistOptions> = {}, delegates: Delegates = {}): Promise<Memberlist> {
  return Memberlist.create({ name, bindAddr: '127.0.0.1', bindPort: 0, ...options }, delegates);
}

/** State of `name` in a TypeScript node's table ('unknown' when absent). */
export function tsState(m: Memberlist, name: string): string {
  return m.members().find((n) => n.name === name)?.state ?? 'unknown';
}

/** `127.0.0.1:port` of a TypeScript node bound to IPv4 loopback. */
export function tsAddress(m: Memberlist): string {
  return `127.0.0.1:${m.localNode().port}`;
}

/** Polls `check` every 50 ms until it holds; throws with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The nodes of one interop test file; see {@link useInteropNodes}. */
export interface InteropNodes {
  /** Whether Go and memberlist are installed (under CI=true their absence throws instead). */
  readonly haveGo: boolean;
  /** Starts a Go peer bound to 127.0.0.1 (later `-bind` in `args` overrides); killed after the test. */
  go(name: string, args?: string[]): Promise<GoPeer>;
  /** Starts a TypeScript node (see {@link startTsNode}); shut down after the test. */
  ts(name: string, options?: Partial<MemberlistOptions>, delegates?: Delegates): Promise<Memberlist>;
}

/**
 * Registers the file's hooks (build the Go peer once, stop every node after
 * each test) and returns the starters. Call at the top level of a test file.
 */
export function useInteropNodes(): InteropNodes {
  const haveGo = needGo();
  let binary = '';
  const goPeers: GoPeer[] = [];
  const tsNodes: Memberlist[] = [];

  beforeAll(async () => {
    if (haveGo) binary = (await buildGoPeer())!;
  }, 600_000);

  afterEach(async () => {
    await Promise.all(goPeers.splice(0).map((p) => p.kill()));
    await Promise.all(tsNodes.splice(0).map((n) => n.shutdown()));
  });

  return {
    haveGo,
    async go(name, args = []) {
      const p = await GoPeer.start(binary, name, args);
      goPeers.push(p);
      return p;
    },
    async ts(name, options = {}, delegates = {}) {
      const m = await startTsNode(name, options, delegates);
      tsNodes.push(m);
      return m;
    },
  };
}

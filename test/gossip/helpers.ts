/**
 * Builds clusters of memberlist nodes on a MockNetwork driven by a
 * VirtualClock; and what the gossip tests on real sockets check first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { Memberlist, type MemberlistOptions } from '../../src/gossip/memberlist.js';
import { MockNetwork, type MockNetworkOptions } from '../../src/gossip/mock-network.js';
import { VirtualClock, seededRandom } from '../../src/gossip/clock.js';
import type { Delegates } from '../../src/gossip/delegates.js';
import { requirement } from '../../src/testkit/ci.js';

/** A simulated cluster: one virtual clock, one mock network, n nodes. */
export class SimCluster {
  readonly clock = new VirtualClock();
  readonly network: MockNetwork;
  readonly nodes: Memberlist[] = [];
  private seed: number;

  constructor(seed = 1, netOptions: Omit<MockNetworkOptions, 'clock'> = {}) {
    this.seed = seed;
    this.network = new MockNetwork({ clock: this.clock, random: seededRandom(seed), ...netOptions });
  }

  /** Adds a node named `name` (not joined yet), on `ip` or the next free mock address. */
  async add(name: string, options: Partial<MemberlistOptions> = {}, delegates: Delegates = {}, ip?: string): Promise<Memberlist> {
    const transport = this.network.createTransport(ip);
    const m = await Memberlist.create({ name, transport, clock: this.clock, random: seededRandom(++this.seed * 7919), ...options }, delegates);
    this.nodes.push(m);
    return m;
  }

  /** Adds `n` nodes named prefix0..n-1 and joins each to the first. */
  async addJoined(n: number, prefix = 'node', options: Partial<MemberlistOptions> = {}): Promise<Memberlist[]> {
    const added: Memberlist[] = [];
    for (let i = 0; i < n; i++) {
      const m = await this.add(`${prefix}${i}`, options);
      if (this.nodes.length > 1) await this.join(m, this.nodes[0]!);
      added.push(m);
    }
    return added;
  }

  /**
   * {@link addJoined}, then runs (at most 30 s of virtual time) until every
   * new node counts `n` members.
   */
  async addConverged(n: number, prefix = 'node', options: Partial<MemberlistOptions> = {}): Promise<Memberlist[]> {
    const added = await this.addJoined(n, prefix, options);
    await this.runUntil(() => added.every((m) => m.numMembers() === n), 30_000);
    return added;
  }

  /** Joins `m` to `target` (push/pull over in-memory streams, with the clock stepping). */
  async join(m: Memberlist, target: Memberlist): Promise<number> {
    const addr = target.localNode();
    const p = m.join([`${addr.addr}:${addr.port}`]);
    let result: number | undefined;
    let error: unknown;
    p.then((n) => { result = n; }, (e) => { error = e; });
    while (result === undefined && error === undefined) await this.clock.advance(1);
    if (error) throw error;
    return result!;
  }

  /** Runs the cluster for `ms` of virtual time. */
  async run(ms: number): Promise<void> {
    await this.clock.advance(ms);
  }

  /** Runs until `done()` or `maxMs`; returns the virtual time it took. */
  async runUntil(done: () => boolean, maxMs: number, stepMs = 10): Promise<number> {
    return this.clock.advanceUntil(done, maxMs, stepMs);
  }

  /** State of `name` as `observer` sees it ('unknown' when absent). */
  stateOf(observer: Memberlist, name: string): string {
    return observer.members().find((n) => n.name === name)?.state ?? 'unknown';
  }

  private closing?: Promise<void>;

  /** Shuts every node down (once: later calls wait for the first). */
  close(): Promise<void> {
    this.closing ??= Promise.all(this.nodes.map((n) => n.shutdown())).then(() => undefined);
    return this.closing;
  }
}

/**
 * Registers an afterEach that closes every cluster the test made, and
 * returns the maker (same arguments as the SimCluster constructor). Call at
 * the top level of a test file: `const simCluster = useSimClusters();`.
 */
export function useSimClusters(): (...args: ConstructorParameters<typeof SimCluster>) => SimCluster {
  const made: SimCluster[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((c) => c.close()));
  });
  return (...args) => {
    const c = new SimCluster(...args);
    made.push(c);
    return c;
  };
}

/** `addr:port` of a node, as transports address it. */
export function addrOf(m: Memberlist): string {
  return `${m.localNode().addr}:${m.localNode().port}`;
}

/** Packet options for hand-made plaintext packets: no encryption, compression or CRC. */
export const PLAIN_PACKET = { encryptionEnabled: false, compress: false, crc: false } as const;

/**
 * Whether the IPv6 loopback (::1) is there (it is unless the kernel has IPv6
 * disabled); under CI its absence is a failure, not a skip.
 */
export function haveIpv6Loopback(): boolean {
  const ok = existsSync('/proc/net/if_inet6') && readFileSync('/proc/net/if_inet6', 'utf8').includes('00000000000000000000000000000001');
  return requirement(ok, 'IPv6 loopback (::1) is missing');
}

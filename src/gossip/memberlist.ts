/**
 * A memberlist node: the public face of the gossip engine.
 *
 *   create()  bind the transport, enter the table as alive, start the probe,
 *             gossip and push/pull loops
 *   join()    push/pull with each given address (Join flag set)
 *   leave()   broadcast our own death with From = us (peers mark us "left")
 *             and wait until it has been gossiped
 *   shutdown() stop every loop and close the sockets (no goodbye: peers will
 *             detect the silence as a failure unless leave() ran first)
 *
 * A Go memberlist node cannot tell this one apart from one of its own: same
 * messages, same timers, same formulas (see PROTOCOLS.md and config.ts).
 */
import { EventEmitter } from 'node:events';
import type { TransmitLimitedQueue } from './broadcast-queue.js';
import type { TimerHandle } from './clock.js';
import { type Config, defaultLanConfig } from './config.js';
import type { Delegates, EventDelegate } from './delegates.js';
import { GossipEngine, userMessage } from './engine.js';
import { NetTransport } from './net-transport.js';
import { type NodeInfo, type NodeState, deadOrLeft, ipToBytes, ipToString, toNodeInfo } from './node.js';
import type { GossipStats } from './stats.js';
import { type Transport, ensurePort, joinHostPort, splitHostPort } from './transport.js';
import { Keyring, type Dead } from './wire/index.js';


/** Options of {@link Memberlist.create}: a name and address, plus any {@link Config} field. */
export type MemberlistOptions = Partial<Config> & { name: string; bindAddr?: string; bindPort?: number; advertiseAddr?: string };

/** Error of the public API, with a stable code. */
export class MemberlistError extends Error {
  readonly code: 'NO_NAME' | 'META_TOO_LARGE' | 'JOIN_FAILED' | 'LEAVE_TIMEOUT' | 'UPDATE_TIMEOUT' | 'SHUT_DOWN' | 'UNKNOWN_NODE' | 'BAD_ADDRESS';
  constructor(code: MemberlistError['code'], message: string) {
    super(message);
    this.name = 'MemberlistError';
    this.code = code;
  }
}

/**
 * Events: `join`, `leave`, `update`, each with a {@link NodeInfo}
 * (also delivered to `delegates.events` when given).
 */
export class Memberlist extends EventEmitter {
  /** The configuration in force (defaults filled in; bindPort is the bound one). */
  readonly config: Config;
  /** The transport in use (a NetTransport unless one was configured). */
  readonly transport: Transport;
  /** Queue of memberlist broadcasts (exposed for benchmarks and diagnostics). */
  readonly broadcasts: TransmitLimitedQueue;
  private readonly engine: GossipEngine;

  private constructor(config: Config, transport: Transport, delegates: Delegates) {
    super();
    this.config = config;
    this.transport = transport;
    this.engine = new GossipEngine(config, transport, { ...delegates, events: this.eventFanOut(delegates.events) });
    this.broadcasts = this.engine.broadcasts;
  }

  /**
   * Creates a node, binds its transport, marks it alive and starts its loops
   * (memberlist's Create). It knows only itself until {@link join} is called
   * or another node joins it.
   */
  static async create(options: MemberlistOptions, delegates: Delegates = {}): Promise<Memberlist> {
    if (!options.name) throw new MemberlistError('NO_NAME', 'a node name is required');
    const config: Config = { ...defaultLanConfig(), ...stripUndefined(options) };
    if (config.secretKey) {
      if (config.keyring) {
        config.keyring.addKey(config.secretKey);
        config.keyring.useKey(config.secretKey);
      } else {
        config.keyring = new Keyring([config.secretKey], config.secretKey);
      }
    }
    let transport = config.transport;
    if (!transport) {
      const net = await NetTransport.listen({ bindAddr: config.bindAddr, bindPort: config.bindPort, clock: config.clock });
      config.bindPort = net.port;
      transport = net;
    }
    const m = new Memberlist(config, transport, delegates);
    try {
      const adv = transport.finalAdvertiseAddr(config.advertiseAddr, config.advertisePort);
      const addr = ipToBytes(adv.ip);
      if (!addr) throw new MemberlistError('BAD_ADDRESS', `cannot advertise ${adv.ip}`);
      m.engine.start(addr, adv.port);
    } catch (err) {
      await m.engine.stop();
      if (err instanceof RangeError) throw new MemberlistError('META_TOO_LARGE', err.message);
      throw err;
    }
    return m;
  }

  // ---- public API -------------------------------------------------------

  /**
   * Joins a cluster through any of `addrs` (`host`, `host:port`, `[v6]:port`,
   * optionally `name/host:port`) by a push/pull with each. Resolves to the
   * number of addresses that answered; rejects only when none did.
   */
  async join(addrs: string[]): Promise<number> {
    let ok = 0;
    const errors: string[] = [];
    for (const raw of addrs) {
      const slash = raw.indexOf('/');
      if (slash <= 0 && this.config.requireNodeNames) {
        errors.push(`${raw}: node names are required (name/host:port)`);
        continue;
      }
      const target = ensurePort(slash >= 0 ? raw.slice(slash + 1) : raw, this.config.bindPort);
      const hp = splitHostPort(target);
      if (!hp) {
        errors.push(`${raw}: bad address`);
        continue;
      }
      try {
        const hosts = ipToBytes(hp.host) ? [hp.host] : await resolveHost(hp.host);
        for (const host of hosts) {
          await this.engine.streams.pushPullNode(joinHostPort(host, hp.port), true);
          ok++;
        }
      } catch (err) {
        errors.push(`failed to join ${raw}: ${(err as Error).message}`);
      }
    }
    if (ok === 0 && errors.length > 0) throw new MemberlistError('JOIN_FAILED', errors.join('; '));
    return ok;
  }

  /**
   * Leaves gracefully: broadcasts that we left and waits (up to `timeoutMs`,
   * 0 = no limit) until the news has been gossiped. Keep the node running a
   * moment afterwards, then call {@link shutdown}.
   */
  async leave(timeoutMs: number): Promise<void> {
    if (this.engine.hasShutdown()) throw new MemberlistError('SHUT_DOWN', 'leave after shutdown');
    if (this.engine.hasLeft()) return;
    this.engine.markLeft();
    const me = this.engine.table.local();
    if (!me) return;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => { done = resolve; });
    const d: Dead = { Incarnation: me.incarnation, Node: me.name, From: me.name };
    this.engine.table.deadNode(d, () => done());
    if (!this.engine.table.anyAlive()) return;
    if (timeoutMs <= 0) return finished;
    await this.awaitWithTimeout(finished, timeoutMs, 'LEAVE_TIMEOUT', 'timeout waiting for leave broadcast');
  }

  /** Stops all loops and closes the transport. Idempotent. */
  async shutdown(): Promise<void> {
    await this.engine.stop();
  }

  /** Every known node (dead and left ones too, until they are reaped), local node included. */
  members(): NodeInfo[] {
    return this.engine.table.nodes.map(toNodeInfo);
  }

  /** One node by name, in any state; undefined when unknown (or reaped). */
  member(name: string): NodeInfo | undefined {
    const n = this.engine.table.byName.get(name);
    return n ? toNodeInfo(n) : undefined;
  }

  /** Nodes that are alive or suspect (memberlist's Members()). */
  liveMembers(): NodeInfo[] {
    return this.engine.table.nodes.filter((n) => !deadOrLeft(n)).map(toNodeInfo);
  }

  /** Count of alive and suspect nodes, local node included (memberlist's NumMembers). */
  numMembers(): number {
    return this.engine.table.nodes.reduce((c, n) => c + (deadOrLeft(n) ? 0 : 1), 0);
  }

  /** The local node. */
  localNode(): NodeInfo {
    return toNodeInfo(this.engine.table.local()!);
  }

  /** Lifeguard health: 0 is healthy, up to AwarenessMaxMultiplier − 1. */
  healthScore(): number {
    return this.engine.awareness.healthScore();
  }

  /** A copy of the traffic and drop counters. */
  getStats(): GossipStats {
    return this.engine.stats.snapshot();
  }

  /** The keyring in use, when encryption is configured; add/use/remove keys on it at run time. */
  keyring(): Keyring | undefined {
    return this.config.keyring;
  }

  /** Re-reads node meta from the delegate and broadcasts it with a new incarnation (memberlist's UpdateNode). */
  async updateNode(timeoutMs: number): Promise<void> {
    const me = this.engine.table.local()!;
    let meta: Buffer;
    try {
      meta = this.engine.localMeta();
    } catch (err) {
      throw new MemberlistError('META_TOO_LARGE', (err as Error).message);
    }
    let done!: () => void;
    const finished = new Promise<void>((resolve) => { done = resolve; });
    this.engine.table.setAlive(me.addr, me.port, meta, () => done());
    if (!this.engine.table.anyAlive()) return;
    await this.awaitWithTimeout(finished, timeoutMs, 'UPDATE_TIMEOUT', 'timeout waiting for update broadcast');
  }

  /** Sends a user message by UDP to a member (memberlist's SendBestEffort). */
  async sendBestEffort(to: string, msg: Buffer): Promise<void> {
    const node = this.requireNode(to);
    await this.engine.sendPacket(joinHostPort(ipToString(node.addr), node.port), node, [userMessage(msg)]);
  }

  /** Sends a user message over a stream to a member (memberlist's SendReliable). */
  async sendReliable(to: string, msg: Buffer): Promise<void> {
    const node = this.requireNode(to);
    await this.engine.streams.sendUserMsg(joinHostPort(ipToString(node.addr), node.port), msg);
  }

  /** Pushes and pulls full state with one address now (e.g. to heal a partition). */
  pushPullWith(addr: string, join = false): Promise<void> {
    return this.engine.streams.pushPullNode(ensurePort(addr, this.config.bindPort), join);
  }

  /** True once {@link shutdown} was called. */
  hasShutdown(): boolean {
    return this.engine.hasShutdown();
  }

  /** Waits for `done`, or rejects with `code` after `timeoutMs` on the engine clock. */
  private async awaitWithTimeout(done: Promise<void>, timeoutMs: number, code: 'LEAVE_TIMEOUT' | 'UPDATE_TIMEOUT', message: string): Promise<void> {
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = this.engine.clock.setTimer(timeoutMs, () => reject(new MemberlistError(code, message)));
    });
    try {
      await Promise.race([done, timedOut]);
    } finally {
      timer?.cancel();
    }
  }

  private requireNode(name: string): NodeState {
    const node = this.engine.table.byName.get(name);
    if (!node) throw new MemberlistError('UNKNOWN_NODE', `no member named ${name}`);
    return node;
  }

  private eventFanOut(user: EventDelegate | undefined): EventDelegate {
    return {
      notifyJoin: (n) => { user?.notifyJoin(n); this.emit('join', n); },
      notifyLeave: (n) => { user?.notifyLeave(n); this.emit('leave', n); },
      notifyUpdate: (n) => { user?.notifyUpdate(n); this.emit('update', n); },
    };
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function resolveHost(host: string): Promise<string[]> {
  const { lookup } = await import('node:dns/promises');
  const found = await lookup(host, { all: true });
  return found.map((a) => a.address);
}

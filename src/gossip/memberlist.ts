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
import { Awareness } from './awareness.js';
import { TransmitLimitedQueue, type Broadcast } from './broadcast-queue.js';
import { type Clock, type TimerHandle, systemClock } from './clock.js';
import { type Config, META_MAX_SIZE, defaultLanConfig, encryptionEnabled } from './config.js';
import type { EngineContext, LogLevel } from './context.js';
import type { Delegates, EventDelegate } from './delegates.js';
import { MemberTable, kRandomNodes } from './member-table.js';
import { NetTransport } from './net-transport.js';
import { type NodeInfo, type NodeState, NodeStateType, deadOrLeft, ipToBytes, ipToString, toNodeInfo } from './node.js';
import { PacketHandler } from './packet-handler.js';
import { Prober } from './prober.js';
import { type GossipStats, StatsCounters } from './stats.js';
import { StreamHandler } from './stream-handler.js';
import { type Transport, ensurePort, joinHostPort, splitHostPort } from './transport.js';
import { Keyring, MessageType, encodeMessage, encodePacket, encryptOverhead, type Dead } from './wire/index.js';

/** Options of {@link Memberlist.create}: a name and address, plus any {@link Config} field. */
export type MemberlistOptions = Partial<Config> & { name: string; bindAddr?: string; bindPort?: number; advertiseAddr?: string };

/** Error of the public API, with a stable code. */
export class MemberlistError extends Error {
  readonly code: 'NO_NAME' | 'META_TOO_LARGE' | 'JOIN_FAILED' | 'LEAVE_TIMEOUT' | 'SHUT_DOWN' | 'UNKNOWN_NODE' | 'NODE_NAME_REQUIRED' | 'BAD_ADDRESS';
  constructor(code: MemberlistError['code'], message: string) {
    super(message);
    this.name = 'MemberlistError';
    this.code = code;
  }
}

/** Bytes memberlist reserves for a compound header and for each part's length. */
const COMPOUND_HEADER_OVERHEAD = 2;
const COMPOUND_OVERHEAD = 2;
const USER_MSG_OVERHEAD = 1;
/** Above this many nodes, push/pull slows down (memberlist's pushPullScaleThreshold). */
const PUSH_PULL_SCALE_THRESHOLD = 32;

/** The push/pull period for `n` nodes: ceil(log2 n − log2 32) + 1 times the interval above 32 nodes. */
export function pushPullScale(intervalMs: number, n: number): number {
  if (n <= PUSH_PULL_SCALE_THRESHOLD) return intervalMs;
  return (Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1) * intervalMs;
}

/**
 * Events: `join`, `leave`, `update`, each with a {@link NodeInfo}
 * (also delivered to `delegates.events` when given).
 */
export class Memberlist extends EventEmitter implements EngineContext {
  readonly config: Config;
  readonly clock: Clock;
  readonly random: () => number;
  readonly stats = new StatsCounters();
  readonly delegates: Delegates;
  readonly broadcasts: TransmitLimitedQueue;
  readonly awareness: Awareness;
  /** The transport in use (a NetTransport unless one was configured). */
  readonly transport: Transport;
  private readonly table: MemberTable;
  private readonly prober: Prober;
  private readonly packets: PacketHandler;
  private readonly streams: StreamHandler;
  private advertised: { addr: Buffer; port: number } = { addr: Buffer.alloc(4), port: 0 };
  private seqNo = 0;
  private left = false;
  private shut = false;
  private gossipTimer: TimerHandle | undefined;
  private pushPullTimer: TimerHandle | undefined;

  private constructor(config: Config, transport: Transport, delegates: Delegates) {
    super();
    this.config = config;
    this.clock = config.clock ?? systemClock;
    this.random = config.random ?? Math.random;
    this.transport = transport;
    this.delegates = { ...delegates, events: this.eventFanOut(delegates.events) };
    this.awareness = new Awareness(config.awarenessMaxMultiplier);
    this.table = new MemberTable(this);
    this.broadcasts = new TransmitLimitedQueue(() => this.table.estNumNodes(), config.retransmitMult);
    this.streams = new StreamHandler(this, this.table, transport);
    this.prober = new Prober(this, this.table, (addr, ping, deadline) => this.streams.tcpPing(addr, ping, deadline));
    this.packets = new PacketHandler(this, this.table, this.prober);
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
    transport.onPacket((p) => m.packets.ingest(p));
    transport.onStream((c) => void m.streams.handleConn(c));
    try {
      const adv = transport.finalAdvertiseAddr(config.advertiseAddr, config.advertisePort);
      const addr = ipToBytes(adv.ip);
      if (!addr) throw new MemberlistError('BAD_ADDRESS', `cannot advertise ${adv.ip}`);
      m.advertised = { addr, port: adv.port };
      m.table.setAlive(addr, adv.port, m.localMeta());
    } catch (err) {
      await transport.shutdown();
      throw err;
    }
    m.schedule();
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
      const target = ensurePort(slash >= 0 ? raw.slice(slash + 1) : raw, this.config.bindPort);
      const hp = splitHostPort(target);
      if (!hp) {
        errors.push(`${raw}: bad address`);
        continue;
      }
      try {
        const hosts = ipToBytes(hp.host) ? [hp.host] : await resolveHost(hp.host);
        for (const host of hosts) {
          await this.streams.pushPullNode(joinHostPort(host, hp.port), true);
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
    if (this.shut) throw new MemberlistError('SHUT_DOWN', 'leave after shutdown');
    if (this.left) return;
    this.left = true;
    const me = this.table.local();
    if (!me) return;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => { done = resolve; });
    const d: Dead = { Incarnation: me.incarnation, Node: me.name, From: me.name };
    this.table.deadNode(d, () => done());
    if (!this.table.anyAlive()) return;
    if (timeoutMs <= 0) return finished;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = this.clock.setTimer(timeoutMs, () => reject(new MemberlistError('LEAVE_TIMEOUT', 'timeout waiting for leave broadcast')));
    });
    try {
      await Promise.race([finished, timedOut]);
    } finally {
      timer?.cancel();
    }
  }

  /** Stops all loops and closes the transport. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.shut) return;
    this.shut = true;
    this.gossipTimer?.cancel();
    this.pushPullTimer?.cancel();
    this.prober.stop();
    this.table.stopTimers();
    await this.transport.shutdown();
  }

  /** Every known node (dead and left ones too, until they are reaped), local node included. */
  members(): NodeInfo[] {
    return this.table.nodes.map(toNodeInfo);
  }

  /** One node by name, in any state; undefined when unknown (or reaped). */
  member(name: string): NodeInfo | undefined {
    const n = this.table.byName.get(name);
    return n ? toNodeInfo(n) : undefined;
  }

  /** Nodes that are alive or suspect (memberlist's Members()). */
  liveMembers(): NodeInfo[] {
    return this.table.nodes.filter((n) => !deadOrLeft(n)).map(toNodeInfo);
  }

  /** Count of alive and suspect nodes, local node included (memberlist's NumMembers). */
  numMembers(): number {
    return this.table.nodes.reduce((c, n) => c + (deadOrLeft(n) ? 0 : 1), 0);
  }

  /** The local node. */
  localNode(): NodeInfo {
    return toNodeInfo(this.table.local()!);
  }

  /** Lifeguard health: 0 is healthy, up to AwarenessMaxMultiplier − 1. */
  healthScore(): number {
    return this.awareness.healthScore();
  }

  /** A copy of the traffic and drop counters. */
  getStats(): GossipStats {
    return this.stats.snapshot();
  }

  /** The keyring in use, when encryption is configured; add/use/remove keys on it at run time. */
  keyring(): Keyring | undefined {
    return this.config.keyring;
  }

  /** Re-reads node meta from the delegate and broadcasts it with a new incarnation (memberlist's UpdateNode). */
  async updateNode(timeoutMs: number): Promise<void> {
    const me = this.table.local()!;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => { done = resolve; });
    this.table.setAlive(me.addr, me.port, this.localMeta(), () => done());
    if (!this.table.anyAlive()) return;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = this.clock.setTimer(timeoutMs, () => reject(new MemberlistError('LEAVE_TIMEOUT', 'timeout waiting for update broadcast')));
    });
    try {
      await Promise.race([finished, timedOut]);
    } finally {
      timer?.cancel();
    }
  }

  /** Sends a user message by UDP to a member (memberlist's SendBestEffort). */
  async sendBestEffort(to: string, msg: Buffer): Promise<void> {
    const node = this.requireNode(to);
    await this.sendPacket(joinHostPort(ipToString(node.addr), node.port), node, [userMessage(msg)]);
  }

  /** Sends a user message over a stream to a member (memberlist's SendReliable). */
  async sendReliable(to: string, msg: Buffer): Promise<void> {
    const node = this.requireNode(to);
    await this.streams.sendUserMsg(joinHostPort(ipToString(node.addr), node.port), msg);
  }

  /** Pushes and pulls full state with one address now (e.g. to heal a partition). */
  pushPullWith(addr: string, join = false): Promise<void> {
    return this.streams.pushPullNode(ensurePort(addr, this.config.bindPort), join);
  }

  // ---- EngineContext ----------------------------------------------------

  log(level: LogLevel, message: string): void {
    this.config.log?.(level, `memberlist[${this.config.name}]: ${message}`);
  }

  hasLeft(): boolean {
    return this.left;
  }

  hasShutdown(): boolean {
    return this.shut;
  }

  advertise(): { addr: Buffer; port: number } {
    return this.advertised;
  }

  nextSeqNo(): number {
    this.seqNo = (this.seqNo + 1) >>> 0;
    return this.seqNo;
  }

  encodeAndBroadcast(node: string, type: MessageType, body: object, notify?: () => void): void {
    const msg = encodeMessage(type, body);
    const b: Broadcast = {
      name: node,
      message: () => msg,
      invalidates: () => false,
      finished: () => notify?.(),
    };
    this.broadcasts.queueBroadcast(b);
  }

  sendMsg(addr: string, name: string, msg: Buffer): void {
    let avail = this.config.udpBufferSize - msg.length - COMPOUND_HEADER_OVERHEAD;
    if (encryptionEnabled(this.config) && this.config.gossipVerifyOutgoing) avail -= encryptOverhead(this.encryptionVersion());
    const extra = this.getBroadcasts(COMPOUND_OVERHEAD, avail);
    this.sendPacket(addr, name ? this.table.byName.get(name) : undefined, [msg, ...extra]).catch((err: Error) => {
      this.log('error', `failed to send to ${addr}: ${err.message}`);
    });
  }

  async sendPacket(addr: string, node: NodeState | undefined, msgs: Buffer[]): Promise<void> {
    if (this.shut) return;
    const enc = encryptionEnabled(this.config) && this.config.gossipVerifyOutgoing;
    const packet = encodePacket(msgs, {
      label: this.config.label || undefined,
      keyring: enc ? this.config.keyring : undefined,
      encryptionEnabled: enc,
      gossipVerifyOutgoing: this.config.gossipVerifyOutgoing,
      compress: this.config.enableCompression,
      crc: node !== undefined && node.vsn[1] >= 5,
      encryptionVersion: this.encryptionVersion(),
    });
    this.stats.packetsSent++;
    this.stats.bytesSent += packet.length;
    await this.transport.writeTo(packet, addr);
  }

  // ---- internals --------------------------------------------------------

  private schedule(): void {
    const { config } = this;
    this.prober.start();
    if (config.gossipIntervalMs > 0 && config.gossipNodes > 0) {
      const interval = config.gossipIntervalMs;
      const tick = (): void => {
        if (this.shut) return;
        try {
          this.gossip();
        } catch (err) {
          this.log('error', `gossip round failed: ${(err as Error).message}`);
        }
        this.gossipTimer = this.clock.setTimer(interval, tick);
      };
      this.gossipTimer = this.clock.setTimer(Math.floor(this.random() * interval), tick);
    }
    if (config.pushPullIntervalMs > 0) {
      const tick = (): void => {
        if (this.shut) return;
        this.periodicPushPull();
        this.pushPullTimer = this.clock.setTimer(pushPullScale(config.pushPullIntervalMs, this.table.estNumNodes()), tick);
      };
      this.pushPullTimer = this.clock.setTimer(Math.floor(this.random() * config.pushPullIntervalMs), tick);
    }
  }

  /** One gossip round: queued broadcasts to GossipNodes random live (or recently dead) nodes. */
  private gossip(): void {
    const now = this.clock.now();
    const nodes = kRandomNodes(this.config.gossipNodes, this.table.nodes, this.random, (n) => {
      if (n.name === this.config.name) return true;
      if (n.state === NodeStateType.Alive || n.state === NodeStateType.Suspect) return false;
      if (n.state === NodeStateType.Dead) return now - n.stateChange > this.config.gossipToTheDeadTimeMs;
      return true;
    });
    let avail = this.config.udpBufferSize - COMPOUND_HEADER_OVERHEAD;
    if (encryptionEnabled(this.config)) avail -= encryptOverhead(this.encryptionVersion());
    for (const node of nodes) {
      const msgs = this.getBroadcasts(COMPOUND_OVERHEAD, avail);
      if (msgs.length === 0) return;
      this.sendPacket(joinHostPort(ipToString(node.addr), node.port), node, msgs).catch((err: Error) => {
        this.log('error', `failed to send gossip to ${node.name}: ${err.message}`);
      });
    }
  }

  private periodicPushPull(): void {
    const [node] = kRandomNodes(1, this.table.nodes, this.random, (n) => n.name === this.config.name || n.state !== NodeStateType.Alive);
    if (!node) return;
    this.streams.pushPullNode(joinHostPort(ipToString(node.addr), node.port), false).catch((err: Error) => {
      this.log('error', `push/pull with ${node.name} failed: ${err.message}`);
    });
  }

  /** Memberlist broadcasts first, then the delegate's user broadcasts in the space left. */
  private getBroadcasts(overhead: number, limit: number): Buffer[] {
    const toSend = this.broadcasts.getBroadcasts(overhead, limit);
    const d = this.delegates.delegate;
    if (d) {
      const used = toSend.reduce((s, m) => s + m.length + overhead, 0);
      const avail = limit - used;
      if (avail > overhead + USER_MSG_OVERHEAD) {
        for (const m of d.getBroadcasts(overhead + USER_MSG_OVERHEAD, avail)) toSend.push(userMessage(m));
      }
    }
    return toSend;
  }

  private encryptionVersion(): 0 | 1 {
    return this.config.protocolVersion < 2 ? 0 : 1;
  }

  private localMeta(): Buffer {
    const meta = this.delegates.delegate?.nodeMeta(META_MAX_SIZE) ?? Buffer.alloc(0);
    if (meta.length > META_MAX_SIZE) throw new MemberlistError('META_TOO_LARGE', `node meta of ${meta.length} bytes exceeds ${META_MAX_SIZE}`);
    return meta;
  }

  private requireNode(name: string): NodeState {
    const node = this.table.byName.get(name);
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

/** `[8][bytes]`: a user message inside a packet. */
function userMessage(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 1);
  out[0] = MessageType.User;
  msg.copy(out, 1);
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function resolveHost(host: string): Promise<string[]> {
  const { lookup } = await import('node:dns/promises');
  const found = await lookup(host, { all: true });
  return found.map((a) => a.address);
}

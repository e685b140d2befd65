/**
 * The inside of one memberlist node: the shared {@link EngineContext}
 * (configuration, clock, counters, broadcast queue, how to send) and the
 * loops that run on it (probe, gossip, push/pull). {@link Memberlist} is the
 * public face over it.
 *
 *   inbound packet ─► PacketHandler ─► Prober (ping/ack/nack) | MemberTable (alive/suspect/dead) | delegate
 *   inbound stream ─► StreamHandler ─► push/pull merge | TCP ping | user message
 *   timers: probe (ProbeInterval × health) · gossip (GossipInterval) · push/pull (scaled PushPullInterval)
 *   outbound: message + piggybacked broadcasts ─► wire.encodePacket ─► transport
 */
import { Awareness } from './awareness.js';
import { TransmitLimitedQueue, type Broadcast } from './broadcast-queue.js';
import { type Clock, type TimerHandle, systemClock } from './clock.js';
import { type Config, META_MAX_SIZE, encryptionEnabled } from './config.js';
import type { EngineContext, LogLevel } from './context.js';
import type { Delegates } from './delegates.js';
import { MemberTable, kRandomNodes } from './member-table.js';
import { type NodeState, NodeStateType, ipToString } from './node.js';
import { PacketHandler } from './packet-handler.js';
import { Prober } from './prober.js';
import { StatsCounters } from './stats.js';
import { StreamHandler } from './stream-handler.js';
import { type Transport, joinHostPort } from './transport.js';
import { MessageType, encodeMessage, encodePacket, encryptOverhead } from './wire/index.js';

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

/** `[8][bytes]`: a user message inside a packet. */
export function userMessage(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 1);
  out[0] = MessageType.User;
  msg.copy(out, 1);
  return out;
}

/** One node's state, handlers and loops. */
export class GossipEngine implements EngineContext {
  readonly clock: Clock;
  readonly random: () => number;
  readonly stats = new StatsCounters();
  readonly broadcasts: TransmitLimitedQueue;
  readonly awareness: Awareness;
  readonly table: MemberTable;
  readonly prober: Prober;
  readonly packets: PacketHandler;
  readonly streams: StreamHandler;
  private advertised: { addr: Buffer; port: number } = { addr: Buffer.alloc(4), port: 0 };
  private seqNo = 0;
  private left = false;
  private shut = false;
  private gossipTimer: TimerHandle | undefined;
  private pushPullTimer: TimerHandle | undefined;

  constructor(readonly config: Config, readonly transport: Transport, readonly delegates: Delegates) {
    this.clock = config.clock ?? systemClock;
    this.random = config.random ?? Math.random;
    this.awareness = new Awareness(config.awarenessMaxMultiplier);
    this.table = new MemberTable(this);
    this.broadcasts = new TransmitLimitedQueue(() => this.table.estNumNodes(), config.retransmitMult);
    this.streams = new StreamHandler(this, this.table, transport);
    this.prober = new Prober(this, this.table, (addr, ping, deadline) => this.streams.tcpPing(addr, ping, deadline));
    this.packets = new PacketHandler(this, this.table, this.prober);
    transport.onPacket((p) => this.packets.ingest(p));
    transport.onStream((c) => void this.streams.handleConn(c));
  }

  /** Enters the table as alive at the advertised address and starts the loops. */
  start(addr: Buffer, port: number): void {
    this.advertised = { addr, port };
    this.table.setAlive(addr, port, this.localMeta());
    this.prober.start();
    const { config } = this;
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

  /** Marks the node as leaving (our own alive news is ignored from now on). */
  markLeft(): void {
    this.left = true;
  }

  /** Stops every loop and closes the transport. */
  async stop(): Promise<void> {
    if (this.shut) return;
    this.shut = true;
    this.gossipTimer?.cancel();
    this.pushPullTimer?.cancel();
    this.prober.stop();
    this.table.stopTimers();
    await this.transport.shutdown();
  }

  /** Node meta from the delegate, checked against memberlist's 512-byte limit (throws RangeError). */
  localMeta(): Buffer {
    const meta = this.delegates.delegate?.nodeMeta(META_MAX_SIZE) ?? Buffer.alloc(0);
    if (meta.length > META_MAX_SIZE) throw new RangeError(`node meta of ${meta.length} bytes exceeds ${META_MAX_SIZE}`);
    return meta;
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
    const b: Broadcast = { name: node, message: () => msg, invalidates: () => false, finished: () => notify?.() };
    this.broadcasts.queueBroadcast(b);
  }

  sendMsg(addr: string, name: string, msg: Buffer): void {
    if (!name && this.config.requireNodeNames) {
      this.log('error', `not sending to ${addr}: node names are required`);
      return;
    }
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
      crc: node !== undefined && node.vsn[1] >= 5, // only toward nodes that understand protocol 5
      encryptionVersion: this.encryptionVersion(),
    });
    this.stats.packetsSent++;
    this.stats.bytesSent += packet.length;
    await this.transport.writeTo(packet, addr);
  }

  // ---- loops ------------------------------------------------------------

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

  /** Full state sync with one random live node. */
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
}

/**
 * Failure detection (SWIM with Lifeguard), after memberlist's probe,
 * probeNode and the ping/ack/nack handlers:
 *
 *   every ProbeInterval × (health + 1), take the next node of the shuffled round robin
 *   → ping it (with a suspect in the same compound if it is already suspect)
 *   → no ack within ProbeTimeout: ask IndirectChecks peers to ping it (with nack
 *     if they speak ≥ 4), and try a TCP ping (≥ 3)
 *   → nothing by the end of the probe interval: suspect it; health rises by the
 *     nacks we missed (or by 1); a good probe lowers health by 1.
 */
import type { TimerHandle } from './clock.js';
import type { EngineContext } from './context.js';
import type { MemberTable } from './member-table.js';
import { kRandomNodes } from './member-table.js';
import { type NodeState, NodeStateType, deadOrLeft, ipToString, toNodeInfo } from './node.js';
import { joinHostPort } from './transport.js';
import { MessageType, encodeMessage, type AckResp, type IndirectPing, type NackResp, type Ping, type Suspect } from './wire/index.js';

interface AckHandler {
  onAck: (payload: Buffer, timestamp: number) => void;
  onNack?: () => void;
  /** Called when the handler expires unanswered (also on stop, so no probe waits forever). */
  onExpire?: () => void;
  timer: TimerHandle;
}

/** Sends a ping over a stream and resolves true when the right ack came back before `deadline`. */
export type TcpPinger = (addr: string, ping: Ping, deadline: number) => Promise<boolean>;

/** The probe loop and the handlers of ping, indirect ping, ack and nack. */
export class Prober {
  private readonly ackHandlers = new Map<number, AckHandler>();
  private probeIndex = 0;
  private stopped = false;
  private tickTimer: TimerHandle | undefined;

  constructor(private readonly ctx: EngineContext, private readonly table: MemberTable, private readonly tcpPing: TcpPinger) {}

  /** Starts probing: ticks every ProbeInterval after a random stagger; a probe still running absorbs one tick. */
  start(): void {
    const interval = this.ctx.config.probeIntervalMs;
    if (interval <= 0) return;
    let nextTick = this.ctx.clock.now() + Math.floor(this.ctx.random() * interval);
    const tick = (): void => {
      if (this.stopped) return;
      void this.probe().catch((err: Error) => {
        this.ctx.log('error', `probe failed: ${err.message}`);
      }).finally(() => {
        if (this.stopped) return;
        const now = this.ctx.clock.now();
        nextTick += interval;
        // Like a Go ticker with a one-slot channel: a tick missed while probing fires at once, later ones are dropped.
        if (nextTick <= now) nextTick += Math.floor((now - nextTick) / interval) * interval;
        this.tickTimer = this.ctx.clock.setTimer(Math.max(0, nextTick - now), tick);
      });
    };
    this.tickTimer = this.ctx.clock.setTimer(nextTick - this.ctx.clock.now(), tick);
  }

  /** Stops the loop and expires pending acks, so running probes finish. */
  stop(): void {
    this.stopped = true;
    this.tickTimer?.cancel();
    const pending = [...this.ackHandlers.values()];
    this.ackHandlers.clear();
    for (const h of pending) {
      h.timer.cancel();
      h.onExpire?.();
    }
  }

  /** Probes the next node of the round robin, reshuffling at the end of each round. */
  async probe(): Promise<void> {
    let numCheck = 0;
    for (;;) {
      const nodes = this.table.nodes;
      if (numCheck >= nodes.length) return;
      if (this.probeIndex >= nodes.length) {
        this.table.resetNodes();
        this.probeIndex = 0;
        numCheck++;
        continue;
      }
      const node = nodes[this.probeIndex++]!;
      if (node.name === this.ctx.config.name || deadOrLeft(node)) {
        numCheck++;
        continue;
      }
      await this.probeNode({ ...node, vsn: [...node.vsn] as NodeState['vsn'] });
      return;
    }
  }

  /** One SWIM probe of `node` (a snapshot of its state). */
  async probeNode(node: NodeState): Promise<void> {
    const { ctx } = this;
    const { config } = ctx;
    ctx.stats.probes++;
    const probeInterval = ctx.awareness.scaleTimeout(config.probeIntervalMs);
    const self = ctx.advertise();
    const ping: Ping = { SeqNo: ctx.nextSeqNo(), Node: node.name, SourceAddr: self.addr, SourcePort: self.port, SourceNode: config.name };
    const sent = ctx.clock.now();
    const deadline = sent + probeInterval;
    const addr = joinHostPort(ipToString(node.addr), node.port);

    let nacks = 0;
    let ackResult: ((v: { complete: boolean; payload?: Buffer; at: number }) => void) | undefined;
    const acked = new Promise<{ complete: boolean; payload?: Buffer; at: number }>((resolve) => { ackResult = resolve; });
    let settled: { complete: boolean; payload?: Buffer; at: number } | undefined;
    const settle = (v: { complete: boolean; payload?: Buffer; at: number }): void => {
      if (settled) return;
      settled = v;
      ackResult!(v);
    };
    this.setProbeHandler(ping.SeqNo, (payload, at) => settle({ complete: true, payload, at }), () => { nacks++; }, probeInterval,
      () => settle({ complete: false, at: ctx.clock.now() }));

    try {
      if (node.state === NodeStateType.Alive) {
        ctx.sendMsg(addr, node.name, encodeMessage(MessageType.Ping, ping));
      } else {
        const s: Suspect = { Incarnation: node.incarnation, Node: node.name, From: config.name };
        await ctx.sendPacket(addr, node, [encodeMessage(MessageType.Ping, ping), encodeMessage(MessageType.Suspect, s)]);
      }
    } catch (err) {
      ctx.log('error', `failed to send ping to ${node.name}: ${(err as Error).message}`);
      this.dropHandler(ping.SeqNo);
      return;
    }

    let awarenessDelta = -1;
    try {
      const first = await Promise.race([acked, this.sleep(config.probeTimeoutMs)]);
      if (first && first.complete) {
        ctx.delegates.ping?.notifyPingComplete(toNodeInfo(node), first.at - sent, first.payload ?? Buffer.alloc(0));
        return;
      }
      if (this.stopped) return;

      // Indirect probes through up to IndirectChecks live peers.
      const peers = kRandomNodes(config.indirectChecks, this.table.nodes, ctx.random,
        (n) => n.name === config.name || n.name === node.name || n.state !== NodeStateType.Alive);
      let expectedNacks = 0;
      const again = ctx.advertise();
      for (const peer of peers) {
        const ind: IndirectPing = {
          SeqNo: ping.SeqNo, Target: node.addr, Port: node.port, Node: node.name, Nack: peer.vsn[1] >= 4,
          SourceAddr: again.addr, SourcePort: again.port, SourceNode: config.name,
        };
        if (ind.Nack) expectedNacks++;
        ctx.stats.indirectProbes++;
        ctx.sendMsg(joinHostPort(ipToString(peer.addr), peer.port), peer.name, encodeMessage(MessageType.IndirectPing, ind));
      }

      // TCP fallback, in parallel, bounded by the probe deadline.
      const tcpAllowed = !config.disableTcpPings && !(config.disableTcpPingsForNode?.(node.name) ?? false) && node.vsn[1] >= 3;
      let fallback: Promise<boolean> = Promise.resolve(false);
      if (tcpAllowed) {
        ctx.stats.tcpFallbackPings++;
        fallback = this.tcpPing(addr, ping, deadline).catch((err: Error) => {
          ctx.log('error', `failed fallback ping: ${err.message}`);
          return false;
        });
      }

      const final = await acked;
      if (final.complete) return;
      if (await fallback) {
        ctx.log('warn', `was able to connect to ${node.name} but other probes failed, network may be misconfigured`);
        return;
      }
      if (this.stopped) return;
      awarenessDelta = 0;
      if (expectedNacks > 0) {
        if (nacks < expectedNacks) awarenessDelta += expectedNacks - nacks;
      } else {
        awarenessDelta += 1;
      }
      ctx.stats.probesFailed++;
      ctx.log('info', `suspect ${node.name} has failed, no acks received`);
      ctx.stats.suspectsRaised++;
      this.table.suspectNode({ Incarnation: node.incarnation, Node: node.name, From: config.name });
    } finally {
      ctx.awareness.applyDelta(awarenessDelta);
    }
  }

  /** Answers a ping addressed to us (memberlist's handlePing). */
  handlePing(p: Ping, from: string): void {
    const { ctx } = this;
    if (p.Node !== '' && p.Node !== ctx.config.name) {
      ctx.stats.drop('wrongNode');
      return;
    }
    const ack: AckResp = { SeqNo: p.SeqNo, Payload: ctx.delegates.ping?.ackPayload() ?? Buffer.alloc(0) };
    const addr = p.SourceAddr && p.SourceAddr.length > 0 && p.SourcePort ? joinHostPort(ipToString(p.SourceAddr), p.SourcePort) : from;
    ctx.sendMsg(addr, p.SourceNode ?? '', encodeMessage(MessageType.AckResp, ack));
  }

  /** Pings a node on behalf of another and relays the ack, or a nack after ProbeTimeout. */
  handleIndirectPing(ind: IndirectPing, from: string): void {
    const { ctx } = this;
    const port = ctx.config.protocolVersion < 2 || ind.Port === 0 ? ctx.config.bindPort : ind.Port;
    const self = ctx.advertise();
    const localSeq = ctx.nextSeqNo();
    const ping: Ping = { SeqNo: localSeq, Node: ind.Node, SourceAddr: self.addr, SourcePort: self.port, SourceNode: ctx.config.name };
    const back = ind.SourceAddr && ind.SourceAddr.length > 0 && ind.SourcePort ? joinHostPort(ipToString(ind.SourceAddr), ind.SourcePort) : from;
    const backName = ind.SourceNode ?? '';
    let nackTimer: TimerHandle | undefined;
    this.setProbeHandler(localSeq, () => {
      nackTimer?.cancel();
      const ack: AckResp = { SeqNo: ind.SeqNo, Payload: Buffer.alloc(0) };
      ctx.sendMsg(back, backName, encodeMessage(MessageType.AckResp, ack));
    }, undefined, ctx.config.probeTimeoutMs);
    ctx.sendMsg(joinHostPort(ipToString(ind.Target), port), ind.Node, encodeMessage(MessageType.Ping, ping));
    if (ind.Nack) {
      nackTimer = ctx.clock.setTimer(ctx.config.probeTimeoutMs, () => {
        if (this.stopped) return;
        const nack: NackResp = { SeqNo: ind.SeqNo };
        ctx.sendMsg(back, backName, encodeMessage(MessageType.NackResp, nack));
      });
    }
  }

  /** Routes an ack to the probe waiting for it. */
  handleAck(ack: AckResp, timestamp: number): void {
    const h = this.ackHandlers.get(ack.SeqNo);
    if (!h) return;
    this.ackHandlers.delete(ack.SeqNo);
    h.timer.cancel();
    h.onAck(ack.Payload, timestamp);
  }

  /** Counts a nack for the probe waiting for it. */
  handleNack(nack: NackResp): void {
    this.ackHandlers.get(nack.SeqNo)?.onNack?.();
  }

  /** Registers an ack handler that expires after `timeoutMs` (calling `onExpire`). */
  private setProbeHandler(seq: number, onAck: AckHandler['onAck'], onNack: (() => void) | undefined, timeoutMs: number, onExpire?: () => void): void {
    const timer = this.ctx.clock.setTimer(timeoutMs, () => {
      this.ackHandlers.delete(seq);
      onExpire?.();
    });
    this.ackHandlers.set(seq, { onAck, onNack, onExpire, timer });
  }

  private dropHandler(seq: number): void {
    this.ackHandlers.get(seq)?.timer.cancel();
    this.ackHandlers.delete(seq);
  }

  private sleep(ms: number): Promise<undefined> {
    return new Promise((resolve) => this.ctx.clock.setTimer(ms, () => resolve(undefined)));
  }
}

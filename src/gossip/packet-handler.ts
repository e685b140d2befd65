/**
 * The inbound packet path (memberlist's ingestPacket / handleCommand):
 *
 *   datagram → label, decrypt, CRC, compound, decompress (wire.decodePacket)
 *   → each message: ping / indirect ping / ack / nack to the prober,
 *     alive / suspect / dead to the member table, user to the delegate.
 *
 * Bad input of any kind is counted under a named reason and dropped; nothing
 * throws out of here. Messages are handled inline (Node has one thread), so
 * memberlist's handoff queue has no equivalent.
 */
import { encryptionEnabled } from './config.js';
import type { EngineContext } from './context.js';
import type { MemberTable } from './member-table.js';
import type { Prober } from './prober.js';
import { dropReasonForWireCode } from './stats.js';
import { prefixContains } from '../wire/index.js';
import { ipToBytes } from './node.js';
import { splitHostPort, type InboundPacket } from './transport.js';
import {
  GossipWireError, MessageType, decodeBody, decodePacket,
  type AckResp, type Alive, type Dead, type IndirectPing, type NackResp, type Ping, type Suspect,
} from './wire/index.js';

/** memberlist's blockingWarning: handling one packet should never take this long. */
const BLOCKING_WARNING_MS = 10;

/** Decodes datagrams and dispatches their messages. */
export class PacketHandler {
  constructor(private readonly ctx: EngineContext, private readonly table: MemberTable, private readonly prober: Prober) {}

  /** Handles one datagram; never throws. */
  ingest(packet: InboundPacket): void {
    const { ctx } = this;
    if (ctx.hasShutdown()) return;
    ctx.stats.packetsReceived++;
    ctx.stats.bytesReceived += packet.buf.length;
    if (packet.buf.length === 0) {
      ctx.stats.drop('emptyPacket');
      return;
    }
    let messages: Buffer[];
    try {
      messages = decodePacket(packet.buf, {
        label: ctx.config.label || undefined,
        keyring: encryptionEnabled(ctx.config) ? ctx.config.keyring : undefined,
        gossipVerifyIncoming: ctx.config.gossipVerifyIncoming,
        skipInboundLabelCheck: ctx.config.skipInboundLabelCheck,
        onPartDropped: (err) => this.countError(err, packet.from),
      });
    } catch (err) {
      this.countError(err, packet.from);
      return;
    }
    const started = performance.now();
    for (const msg of messages) {
      try {
        this.handleMessage(msg, packet.from, packet.timestamp);
      } catch (err) {
        this.countError(err, packet.from);
      }
    }
    const took = performance.now() - started;
    if (took > BLOCKING_WARNING_MS) ctx.log('warn', `handling a packet from ${packet.from} took ${took.toFixed(1)} ms`);
  }

  /** Dispatches one plain message (type byte first). Throws GossipWireError on bad bodies. */
  private handleMessage(msg: Buffer, from: string, timestamp: number): void {
    const { ctx } = this;
    if (msg.length === 0) {
      ctx.stats.drop('truncated');
      return;
    }
    const type = msg[0] as MessageType;
    const body = msg.subarray(1);
    switch (type) {
      case MessageType.Ping:
        this.prober.handlePing(decodeBody<Ping>(type, body), from);
        return;
      case MessageType.IndirectPing:
        this.prober.handleIndirectPing(decodeBody<IndirectPing>(type, body), from);
        return;
      case MessageType.AckResp:
        this.prober.handleAck(decodeBody<AckResp>(type, body), timestamp);
        return;
      case MessageType.NackResp:
        this.prober.handleNack(decodeBody<NackResp>(type, body));
        return;
      case MessageType.Suspect:
        this.table.suspectNode(decodeBody<Suspect>(type, body));
        return;
      case MessageType.Alive:
        this.handleAlive(decodeBody<Alive>(type, body), from);
        return;
      case MessageType.Dead:
        this.table.deadNode(decodeBody<Dead>(type, body));
        return;
      case MessageType.User:
        ctx.delegates.delegate?.notifyMsg(Buffer.from(body));
        return;
      default:
        ctx.stats.drop('unknownType');
    }
  }

  private handleAlive(live: Alive, from: string): void {
    const { ctx } = this;
    const cidrs = ctx.config.cidrsAllowed;
    if (cidrs.length > 0) {
      const source = ipToBytes(splitHostPort(from)?.host ?? '');
      if (!source || !cidrs.some((c) => prefixContains(c, source)) || (live.Addr.length > 0 && !cidrs.some((c) => prefixContains(c, live.Addr)))) {
        ctx.stats.drop('blockedAddress');
        return;
      }
    }
    if (ctx.config.protocolVersion < 2 || live.Port === 0) live.Port = ctx.config.bindPort;
    this.table.aliveNode(live, false);
  }

  private countError(err: unknown, from: string): void {
    if (err instanceof GossipWireError) {
      this.ctx.stats.drop(dropReasonForWireCode(err.code));
      this.ctx.log('debug', `dropped packet from ${from}: ${err.code} ${err.message}`);
    } else {
      this.ctx.stats.drop('badField');
      this.ctx.log('error', `failed to handle packet from ${from}: ${(err as Error).message}`);
    }
  }
}

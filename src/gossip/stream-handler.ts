/**
 * The stream (TCP) side of memberlist: one exchange per connection.
 *
 *   push/pull:  dialer sends [6][header][node states][user state]; the
 *               listener answers with its own, with the same Join flag; both merge.
 *   TCP ping:   [0][ping] → [2][ack] (fallback probe).
 *   user msg:   [8][header][bytes] → delegate.notifyMsg.
 *
 * Every stream may be labelled (dialer only), encrypted and compressed; the
 * wire layer's openStream unwraps that. Failures of an inbound stream are
 * answered with [13][err], counted, and never thrown.
 */
import { encryptionEnabled } from './config.js';
import type { EngineContext } from './context.js';
import type { MemberTable } from './member-table.js';
import { ipToString, type NodeInfo } from './node.js';
import type { StreamConn, Transport } from './transport.js';
import { dropReasonForWireCode } from './stats.js';
import {
  GossipWireError, MessageType, encodeBody, encodeMessage, encodeStreamMessage, openStream, socketReader,
  type DecodeOptions, type ErrResp, type StreamEncodeOptions, type Ping, type AckResp, type PushNodeState, type PushPullHeader,
  type StreamReader, type UserMsgHeader,
} from './wire/index.js';
import type { Socket } from 'node:net';

/** memberlist's limit on the size of a remote state. */
export const MAX_PUSH_STATE_BYTES = 20 * 1024 * 1024;
/** memberlist's limit on concurrent inbound push/pulls. */
export const MAX_PUSH_PULL_REQUESTS = 128;

/** Error of a stream exchange, with a stable code. */
export class StreamExchangeError extends Error {
  readonly code: 'REMOTE_ERROR' | 'UNEXPECTED_TYPE' | 'SEQ_MISMATCH' | 'PROTOCOL_INCOMPATIBLE' | 'MERGE_REFUSED' | 'SHUTDOWN';
  constructor(code: StreamExchangeError['code'], message: string) {
    super(message);
    this.name = 'StreamExchangeError';
    this.code = code;
  }
}

/** A remote node's push/pull state. */
export interface RemoteState {
  join: boolean;
  nodes: PushNodeState[];
  userState: Buffer | undefined;
}

/** Push/pull, TCP pings and reliable user messages. */
export class StreamHandler {
  private inboundPushPulls = 0;

  constructor(private readonly ctx: EngineContext, private readonly table: MemberTable, private readonly transport: Transport) {}

  /** Syncs full state with one node and merges its answer (memberlist's pushPullNode). */
  async pushPullNode(addr: string, join: boolean): Promise<void> {
    const remote = await this.sendAndReceiveState(addr, join);
    this.mergeRemoteState(join, remote);
  }

  /** Handles one inbound stream; never throws. */
  async handleConn(conn: StreamConn): Promise<void> {
    const { ctx } = this;
    ctx.stats.streamsAccepted++;
    // Like memberlist, only a stream we could not even open is answered with [13][err].
    let opened = false;
    try {
      const reader = await openStream(this.track(conn), { ...this.decodeOptions(), expectLabel: true });
      const type = (await reader.readByte()) as MessageType;
      opened = true;
      switch (type) {
        case MessageType.User:
          await this.readUserMsg(reader);
          break;
        case MessageType.PushPull:
          await this.answerPushPull(conn, reader);
          break;
        case MessageType.Ping:
          await this.answerPing(conn, reader);
          break;
        default:
          ctx.stats.drop('unexpectedType');
      }
    } catch (err) {
      this.countStreamError(err);
      if (!opened && !isEof(err)) await this.sendError(conn, (err as Error).message).catch(() => undefined);
    } finally {
      conn.end();
      conn.destroy();
    }
  }

  /** Pings over a stream; true when the matching ack arrived before `deadline` (clock ms). */
  async tcpPing(addr: string, ping: Ping, deadline: number): Promise<boolean> {
    const timeout = deadline - this.ctx.clock.now();
    if (timeout <= 0) return false;
    let conn: StreamConn;
    try {
      conn = await this.transport.dialTimeout(addr, timeout);
    } catch {
      return false;
    }
    try {
      await write(conn, encodeStreamMessage(encodeMessage(MessageType.Ping, ping), this.packetOptions(true)));
      const reader = await openStream(this.track(conn, Math.max(1, deadline - this.ctx.clock.now())), { ...this.decodeOptions(), expectLabel: false });
      const type = await reader.readByte();
      if (type !== MessageType.AckResp) throw new StreamExchangeError('UNEXPECTED_TYPE', `unexpected msgType (${type}) from ping`);
      const ack = await reader.readBody<AckResp>(MessageType.AckResp);
      if (ack.SeqNo !== ping.SeqNo) throw new StreamExchangeError('SEQ_MISMATCH', `sequence number from ack (${ack.SeqNo}) doesn't match ping (${ping.SeqNo})`);
      return true;
    } finally {
      conn.destroy();
    }
  }

  /** Sends a user message over a stream (memberlist's sendUserMsg). */
  async sendUserMsg(addr: string, msg: Buffer): Promise<void> {
    const conn = await this.transport.dialTimeout(addr, this.ctx.config.tcpTimeoutMs);
    this.ctx.stats.streamsDialed++;
    try {
      const header: UserMsgHeader = { UserMsgLen: msg.length };
      await write(conn, encodeStreamMessage(Buffer.concat([encodeMessage(MessageType.User, header), msg]), this.packetOptions(true)));
    } finally {
      conn.end();
    }
  }

  /** Dials `addr`, sends our state, reads theirs (memberlist's sendAndReceiveState). */
  async sendAndReceiveState(addr: string, join: boolean): Promise<RemoteState> {
    const conn = await this.transport.dialTimeout(addr, this.ctx.config.tcpTimeoutMs);
    this.ctx.stats.streamsDialed++;
    this.ctx.stats.pushPulls++;
    try {
      await write(conn, encodeStreamMessage(this.localState(join), this.packetOptions(true)));
      const reader = await openStream(this.track(conn), { ...this.decodeOptions(), expectLabel: false });
      const type = await reader.readByte();
      if (type === MessageType.Err) {
        const resp = await reader.readBody<ErrResp>(MessageType.Err);
        throw new StreamExchangeError('REMOTE_ERROR', `remote error: ${resp.Error}`);
      }
      if (type !== MessageType.PushPull) throw new StreamExchangeError('UNEXPECTED_TYPE', `received invalid msgType (${type}), expected pushPull`);
      return await readRemoteState(reader);
    } finally {
      conn.destroy();
    }
  }

  /** Verifies, vets (merge delegate on join) and applies a remote state (memberlist's mergeRemoteState). */
  mergeRemoteState(join: boolean, remote: RemoteState): void {
    const err = this.table.verifyProtocol(remote.nodes);
    if (err) {
      this.ctx.stats.drop('protocolIncompatible');
      throw new StreamExchangeError('PROTOCOL_INCOMPATIBLE', err);
    }
    const merge = this.ctx.delegates.merge;
    if (join && merge) {
      const peers: NodeInfo[] = remote.nodes.map((n) => ({
        name: n.Name, addr: ipToString(n.Addr), port: n.Port, meta: Buffer.from(n.Meta),
        state: (['alive', 'suspect', 'dead', 'left'] as const)[n.State], incarnation: n.Incarnation, vsn: [...n.Vsn],
      }));
      try {
        merge.notifyMerge(peers);
      } catch (e) {
        this.ctx.stats.drop('mergeRefused');
        throw new StreamExchangeError('MERGE_REFUSED', `merge refused: ${(e as Error).message}`);
      }
    }
    this.table.mergeState(remote.nodes);
    if (remote.userState !== undefined) this.ctx.delegates.delegate?.mergeRemoteState(remote.userState, join);
  }

  private async answerPushPull(conn: StreamConn, reader: StreamReader): Promise<void> {
    this.inboundPushPulls++;
    try {
      if (this.inboundPushPulls > MAX_PUSH_PULL_REQUESTS) {
        this.ctx.stats.drop('tooManyPushPulls');
        return;
      }
      const remote = await readRemoteState(reader);
      await write(conn, encodeStreamMessage(this.localState(remote.join), this.packetOptions()));
      this.mergeRemoteState(remote.join, remote);
    } finally {
      this.inboundPushPulls--;
    }
  }

  private async answerPing(conn: StreamConn, reader: StreamReader): Promise<void> {
    const p = await reader.readBody<Ping>(MessageType.Ping);
    if (p.Node !== '' && p.Node !== this.ctx.config.name) {
      this.ctx.stats.drop('wrongNode');
      return;
    }
    const ack: AckResp = { SeqNo: p.SeqNo, Payload: Buffer.alloc(0) };
    await write(conn, encodeStreamMessage(encodeMessage(MessageType.AckResp, ack), this.packetOptions()));
  }

  private async readUserMsg(reader: StreamReader): Promise<void> {
    const header = await reader.readBody<UserMsgHeader>(MessageType.User);
    if (header.UserMsgLen > MAX_PUSH_STATE_BYTES) throw new GossipWireError('TOO_LARGE', `user message of ${header.UserMsgLen} bytes`);
    if (header.UserMsgLen > 0) {
      const buf = await reader.readBytes(header.UserMsgLen);
      this.ctx.delegates.delegate?.notifyMsg(Buffer.from(buf));
    }
  }

  /** `[6][header][states...][user state]` for a push/pull (memberlist's sendLocalState). */
  private localState(join: boolean): Buffer {
    const states = this.table.localPushStates();
    const user = this.ctx.delegates.delegate?.localState(join);
    const header: PushPullHeader = { Nodes: states.length, UserStateLen: user?.length ?? 0, Join: join };
    const parts = [encodeMessage(MessageType.PushPull, header)];
    for (const s of states) parts.push(encodeBody('PushNodeState', s));
    if (user && user.length > 0) parts.push(user);
    return Buffer.concat(parts);
  }

  private async sendError(conn: StreamConn, message: string): Promise<void> {
    if (conn.destroyed || !conn.writable) return;
    const resp: ErrResp = { Error: message };
    await write(conn, encodeStreamMessage(encodeMessage(MessageType.Err, resp), this.packetOptions()));
  }

  /**
   * A reader over `conn` with memberlist's limits, disposed when the stream
   * closes. socketReader is typed for net.Socket but only uses the Duplex
   * events (data/end/error/close), so mock streams work as well.
   */
  private track(conn: StreamConn, timeoutMs = this.ctx.config.tcpTimeoutMs): StreamReader {
    const reader = socketReader(conn as unknown as Socket, { maxBytes: MAX_PUSH_STATE_BYTES + 1024, timeoutMs });
    conn.once('close', () => reader.dispose());
    return reader;
  }

  private decodeOptions(): DecodeOptions {
    const c = this.ctx.config;
    return {
      label: c.label || undefined,
      keyring: encryptionEnabled(c) ? c.keyring : undefined,
      gossipVerifyIncoming: c.gossipVerifyIncoming,
      skipInboundLabelCheck: c.skipInboundLabelCheck,
    };
  }

  private packetOptions(dialer = false): StreamEncodeOptions {
    const c = this.ctx.config;
    const enc = encryptionEnabled(c) && c.gossipVerifyOutgoing;
    return {
      label: c.label || undefined,
      keyring: enc ? c.keyring : undefined,
      encryptionEnabled: enc,
      gossipVerifyOutgoing: c.gossipVerifyOutgoing,
      compress: c.enableCompression,
      crc: false,
      encryptionVersion: c.protocolVersion < 2 ? 0 : 1,
      dialer,
    };
  }

  private countStreamError(err: unknown): void {
    if (isEof(err)) return;
    // Refused merges were counted where they were refused.
    if (err instanceof StreamExchangeError && (err.code === 'PROTOCOL_INCOMPATIBLE' || err.code === 'MERGE_REFUSED')) return;
    if (err instanceof GossipWireError) this.ctx.stats.drop(dropReasonForWireCode(err.code));
    else this.ctx.stats.drop('streamFailed');
    this.ctx.log('error', `failed to handle stream: ${(err as Error).message}`);
  }
}

/** Reads a push/pull body after its type byte (memberlist's readRemoteState). */
export async function readRemoteState(reader: StreamReader): Promise<RemoteState> {
  const header = await reader.readBody<PushPullHeader>(MessageType.PushPull);
  if (header.Nodes > MAX_PUSH_STATE_BYTES / 8 || header.UserStateLen > MAX_PUSH_STATE_BYTES) {
    throw new GossipWireError('TOO_LARGE', `remote state of ${header.Nodes} nodes / ${header.UserStateLen} bytes`);
  }
  const nodes: PushNodeState[] = [];
  for (let i = 0; i < header.Nodes; i++) {
    const n = await reader.readBody<PushNodeState>('PushNodeState');
    // Go would find a missing Vsn incompatible (current version 0) or index past its end: refuse it here.
    if (n.Vsn.length < 6) throw new GossipWireError('BAD_FIELD', `node ${n.Name}: Vsn of ${n.Vsn.length} bytes`);
    nodes.push(n);
  }
  const userState = header.UserStateLen > 0 ? Buffer.from(await reader.readBytes(header.UserStateLen)) : undefined;
  return { join: header.Join, nodes, userState };
}

function write(conn: StreamConn, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.write(buf, (err) => (err ? reject(err) : resolve()));
  });
}

function isEof(err: unknown): boolean {
  return err instanceof GossipWireError && err.code === 'TRUNCATED' && /EOF|closed|end/i.test(err.message);
}


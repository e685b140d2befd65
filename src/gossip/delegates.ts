/**
 * Hooks an application plugs into memberlist, one interface per concern as
 * memberlist has them. All are optional; pass them to {@link Memberlist.create}.
 */
import type { NodeInfo } from './node.js';

/** The application's own data riding on gossip (memberlist's Delegate). */
export interface Delegate {
  /** Meta data of the local node for alive messages; at most `limit` bytes. */
  nodeMeta(limit: number): Buffer;
  /** A user message arrived (packet or stream). The buffer is ours to keep. */
  notifyMsg(msg: Buffer): void;
  /** User broadcasts to piggyback: each message costs `overhead` extra bytes; total at most `limit`. */
  getBroadcasts(overhead: number, limit: number): Buffer[];
  /** Local application state for a push/pull (`join` is true when syncing as part of a join). */
  localState(join: boolean): Buffer;
  /** Remote application state received by a push/pull. */
  mergeRemoteState(buf: Buffer, join: boolean): void;
}

/** Membership changes (memberlist's EventDelegate). */
export interface EventDelegate {
  /** A node became alive (joined, or came back). */
  notifyJoin(node: NodeInfo): void;
  /** A node was declared dead or left. */
  notifyLeave(node: NodeInfo): void;
  /** A node's meta data changed. */
  notifyUpdate(node: NodeInfo): void;
}

/** Two nodes claim the same name with different addresses (memberlist's ConflictDelegate). */
export interface ConflictDelegate {
  notifyConflict(existing: NodeInfo, other: NodeInfo): void;
}

/** Vets the remote cluster before a join merges it (memberlist's MergeDelegate). Throw to refuse. */
export interface MergeDelegate {
  notifyMerge(peers: NodeInfo[]): void;
}

/** Vets alive messages (memberlist's AliveDelegate). Throw to ignore the node. */
export interface AliveDelegate {
  notifyAlive(peer: NodeInfo): void;
}

/** Custom ack payloads and RTT reports (memberlist's PingDelegate). */
export interface PingDelegate {
  /** Payload to put in every ack we send. */
  ackPayload(): Buffer;
  /** A direct probe of `node` was acked after `rttMs`, carrying `payload`. */
  notifyPingComplete(node: NodeInfo, rttMs: number, payload: Buffer): void;
}

/** All delegates of a node. */
export interface Delegates {
  delegate?: Delegate;
  events?: EventDelegate;
  conflict?: ConflictDelegate;
  merge?: MergeDelegate;
  alive?: AliveDelegate;
  ping?: PingDelegate;
}

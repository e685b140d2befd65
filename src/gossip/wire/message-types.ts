/**
 * memberlist message types and the bodies they carry, named as the Go
 * structs name their fields (go-msgpack writes those names as map keys).
 *
 * `[]byte` fields are `Buffer`, unsigned fields `number`. A Go nil slice is
 * an empty `Buffer` here (it encodes as msgpack nil, as Go writes it).
 */

/** The first byte of every memberlist packet part and stream (net.go `messageType`). */
export enum MessageType {
  Ping = 0,
  IndirectPing = 1,
  AckResp = 2,
  Suspect = 3,
  Alive = 4,
  Dead = 5,
  PushPull = 6,
  Compound = 7,
  User = 8,
  Compress = 9,
  Encrypt = 10,
  NackResp = 11,
  HasCrc = 12,
  Err = 13,
  /** Label header (memberlist ≥ 0.3): `[244][len][label]` before anything else. */
  HasLabel = 244,
}

/** Direct probe. `Node` is the name of the node being probed. */
export interface Ping {
  SeqNo: number;
  Node: string;
  /** Where the ack should go when it differs from the packet source (omitted when empty). */
  SourceAddr?: Buffer;
  SourcePort?: number;
  SourceNode?: string;
}

/** Request to probe `Target:Port` (named `Node`) on the sender's behalf. */
export interface IndirectPing {
  SeqNo: number;
  Target: Buffer;
  Port: number;
  Node: string;
  /** The requester wants a nack if the target does not answer (protocol ≥ 4). */
  Nack: boolean;
  SourceAddr?: Buffer;
  SourcePort?: number;
  SourceNode?: string;
}

/** Answer to a ping; `Payload` comes from the ping delegate (empty when none). */
export interface AckResp {
  SeqNo: number;
  Payload: Buffer;
}

/** An indirect probe was tried but the target did not answer in time. */
export interface NackResp {
  SeqNo: number;
}

/** Error relayed over a stream when the remote failed to read our request. */
export interface ErrResp {
  Error: string;
}

/** `From` suspects `Node` at `Incarnation`. */
export interface Suspect {
  Incarnation: number;
  Node: string;
  From: string;
}

/** `Node` is alive at `Incarnation` (also the join announcement). */
export interface Alive {
  Incarnation: number;
  Node: string;
  /** 4 (IPv4) or 16 (IPv6) raw address bytes. */
  Addr: Buffer;
  Port: number;
  /** Delegate metadata, at most 512 bytes. */
  Meta: Buffer;
  /** `[pmin, pmax, pcur, dmin, dmax, dcur]`. */
  Vsn: Buffer;
}

/** `From` declares `Node` dead; `From === Node` is a graceful leave. */
export interface Dead {
  Incarnation: number;
  Node: string;
  From: string;
}

/** First value of a push/pull stream: counts of what follows. */
export interface PushPullHeader {
  /** Number of {@link PushNodeState} values that follow. */
  Nodes: number;
  /** Raw delegate state bytes after the node states. */
  UserStateLen: number;
  /** True for a join, false for periodic anti-entropy. */
  Join: boolean;
}

/** Node states as push/pull carries them: 0 alive, 1 suspect, 2 dead, 3 left. */
export type NodeStateCode = 0 | 1 | 2 | 3;

/** One member's state in a push/pull exchange. */
export interface PushNodeState {
  Name: string;
  Addr: Buffer;
  Port: number;
  Meta: Buffer;
  Incarnation: number;
  State: NodeStateCode;
  Vsn: Buffer;
}

/** Header of a user message sent over a stream; `UserMsgLen` raw bytes follow. */
export interface UserMsgHeader {
  UserMsgLen: number;
}

/** Body of a compress message: `Algo` 0 is LZW (LSB, 8-bit literals). */
export interface Compress {
  Algo: number;
  Buf: Buffer;
}

/** The one compression algorithm memberlist knows. */
export const LZW_ALGO = 0;

/** Largest node metadata memberlist accepts (`MetaMaxSize`). */
export const META_MAX_SIZE = 512;

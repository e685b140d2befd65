/**
 * What the parts of one memberlist node share: configuration, clock,
 * counters, queues, and the ways to send. {@link Memberlist} implements it;
 * the member table, the prober and the packet and stream handlers use it.
 */
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Delegates } from './delegates.js';
import type { StatsCounters } from './stats.js';
import type { TransmitLimitedQueue } from './broadcast-queue.js';
import type { Awareness } from './awareness.js';
import type { NodeState } from './node.js';
import type { MessageType } from './wire/index.js';

/** Log levels, as memberlist's log prefixes. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Shared state and services of one node. */
export interface EngineContext {
  readonly config: Config;
  readonly clock: Clock;
  readonly random: () => number;
  readonly stats: StatsCounters;
  readonly delegates: Delegates;
  readonly broadcasts: TransmitLimitedQueue;
  readonly awareness: Awareness;
  /** Writes a log line through Config.log. */
  log(level: LogLevel, message: string): void;
  /** True after leave() started. */
  hasLeft(): boolean;
  /** True after shutdown(). */
  hasShutdown(): boolean;
  /** Our advertised address (raw bytes) and port. */
  advertise(): { addr: Buffer; port: number };
  /** Next probe sequence number. */
  nextSeqNo(): number;
  /** Encodes and queues a broadcast about `node`; `notify` runs when it leaves the queue. */
  encodeAndBroadcast(node: string, type: MessageType, body: object, notify?: () => void): void;
  /** Sends one message by UDP, piggybacking queued broadcasts (memberlist's sendMsg). */
  sendMsg(addr: string, name: string, msg: Buffer): void;
  /** Sends messages as one packet (compound if several), compressing, CRC'ing and encrypting as configured. */
  sendPacket(addr: string, node: NodeState | undefined, msgs: Buffer[]): Promise<void>;
}

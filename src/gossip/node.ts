/**
 * The member table's entries: what we know about each node, and the public
 * read-only view of it ({@link NodeInfo}).
 */

/** A member's state, as memberlist numbers them on the wire (alive 0, suspect 1, dead 2, left 3). */
import { formatIp, parseIp } from '../wire/index.js';
export enum NodeStateType {
  Alive = 0,
  Suspect = 1,
  Dead = 2,
  Left = 3,
}

/** Name of each state in {@link NodeInfo}. */
export type NodeStateName = 'alive' | 'suspect' | 'dead' | 'left';

const STATE_NAMES: readonly NodeStateName[] = ['alive', 'suspect', 'dead', 'left'];

/** A public, immutable snapshot of one member. */
export interface NodeInfo {
  /** Unique node name. */
  name: string;
  /** IP address as text (IPv4 dotted or IPv6). */
  addr: string;
  /** Gossip port (UDP and TCP). */
  port: number;
  /** Current state. */
  state: NodeStateName;
  /** Last known incarnation number. */
  incarnation: number;
  /** Delegate meta data (≤ 512 bytes). */
  meta: Buffer;
  /** Protocol versions [pmin, pmax, pcur, dmin, dmax, dcur]. */
  vsn: number[];
}

/** What the engine keeps per node (memberlist's nodeState). */
export interface NodeState {
  name: string;
  /** Raw address: 4 bytes (IPv4) or 16 bytes (IPv6). */
  addr: Buffer;
  port: number;
  meta: Buffer;
  incarnation: number;
  state: NodeStateType;
  /** Clock time of the last state change. */
  stateChange: number;
  /** Protocol version bytes: pmin, pmax, pcur, dmin, dmax, dcur. */
  vsn: [number, number, number, number, number, number];
}

/** True for dead and left nodes. */
export function deadOrLeft(n: NodeState): boolean {
  return n.state === NodeStateType.Dead || n.state === NodeStateType.Left;
}

/** Formats a raw 4- or 16-byte address (IPv4-mapped as IPv4, as Go's net.IP does); '' for anything else. */
export function ipToString(addr: Buffer): string {
  if (addr.length !== 4 && addr.length !== 16) return '';
  const mapped = addr.length === 16 && addr.subarray(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff;
  return formatIp(mapped ? addr.subarray(12) : addr);
}

/** Parses an IPv4 or IPv6 address to its raw bytes (4 or 16); undefined when invalid. */
export function ipToBytes(ip: string): Buffer | undefined {
  try {
    return parseIp(ip);
  } catch {
    return undefined;
  }
}

/** The public view of a node. */
export function toNodeInfo(n: NodeState): NodeInfo {
  return {
    name: n.name,
    addr: ipToString(n.addr),
    port: n.port,
    state: STATE_NAMES[n.state] ?? 'dead',
    incarnation: n.incarnation,
    meta: Buffer.from(n.meta),
    vsn: [...n.vsn],
  };
}

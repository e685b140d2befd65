/**
 * The member table's entries: what we know about each node, and the public
 * read-only view of it ({@link NodeInfo}).
 */

/** A member's state, as memberlist numbers them on the wire (alive 0, suspect 1, dead 2, left 3). */
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

/** Formats a raw 4- or 16-byte address; returns '' for anything else. */
export function ipToString(addr: Buffer): string {
  if (addr.length === 4) return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  if (addr.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(addr.readUInt16BE(i).toString(16));
    // IPv4-mapped addresses print as IPv4, as Go's net.IP does.
    if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') return ipToString(addr.subarray(12));
    return compressIpv6(groups);
  }
  return '';
}

function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

/** Parses an IPv4 or IPv6 address to its raw bytes (4 or 16); undefined when invalid. */
export function ipToBytes(ip: string): Buffer | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const bytes = v4.slice(1).map(Number);
    return bytes.every((b) => b <= 255) ? Buffer.from(bytes) : undefined;
  }
  if (!ip.includes(':')) return undefined;
  let text = ip;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4tail = ipToBytes(text.slice(lastColon + 1));
    if (!v4tail) return undefined;
    tail = [v4tail.readUInt16BE(0), v4tail.readUInt16BE(2)];
    text = text.slice(0, lastColon) + ':';
    if (text.endsWith('::')) text += '';
    else text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const parts = s.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN));
    return parts.some(Number.isNaN) ? undefined : parts;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const fill = 8 - tail.length - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest, ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
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

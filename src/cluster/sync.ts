/**
 * Carries the overlay store over gossip (memberlist's delegate hooks), the
 * way Docker's NetworkDB rides on memberlist:
 *
 *   local change ─► direct UDP to the nodes that have the network (fast path)
 *                └► piggybacked broadcast to everyone (epidemic, retransmit-limited)
 *   news heard by gossip ─► queued again for our own gossip (memberlist
 *                            relays only its own messages; the delegate must
 *                            relay user data for it to spread epidemically)
 *   push/pull (join, every 30 s) ─► the whole state, tombstones included
 *   member alive / dead / left ─► entries shown / hidden / forgotten
 *   member back from dead ─► an immediate push/pull with it
 *
 * Messages: `[version 1][msgpack { e: Entry[] }]`.
 */
import type { Delegate, EventDelegate, Memberlist, NodeInfo } from '../gossip/index.js';
import { TransmitLimitedQueue, decodeMsgpack, encodeMsgpack, type Broadcast } from '../gossip/index.js';
import { entryKey, type EndpointEntry, type Entry } from './entries.js';
import type { MemberState, OverlayStore } from './store.js';

const VERSION = 1;
/** memberlist's retransmit multiplier (DefaultLANConfig). */
const RETRANSMIT_MULT = 4;

export class ClusterSync implements Delegate, EventDelegate {
  private memberlist?: Memberlist;
  private readonly queue = new TransmitLimitedQueue(() => this.memberlist?.numMembers() ?? 1, RETRANSMIT_MULT);
  /** Messages that could not be decoded. */
  badMessages = 0;

  constructor(
    private readonly store: OverlayStore,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void = () => undefined,
  ) {
    store.on('local', (e: Entry) => this.announce(e));
  }

  /** Starts sending through `m` (created with this object as its delegate and event delegate). */
  attach(m: Memberlist): void {
    this.memberlist = m;
  }

  // ---- Delegate -----------------------------------------------------------

  nodeMeta(): Buffer {
    return Buffer.alloc(0);
  }

  notifyMsg(msg: Buffer): void {
    const entries = this.decode(msg);
    if (!entries) return;
    for (const e of this.store.merge(entries)) this.queue.queueBroadcast(namedBroadcast(entryKey(e), frame([e])));
  }

  getBroadcasts(overhead: number, limit: number): Buffer[] {
    return this.queue.getBroadcasts(overhead, limit);
  }

  localState(): Buffer {
    return frame(this.store.allEntries());
  }

  mergeRemoteState(buf: Buffer): void {
    const entries = this.decode(buf);
    if (entries) this.store.merge(entries);
  }

  // ---- EventDelegate ------------------------------------------------------

  notifyJoin(node: NodeInfo): void {
    const before = this.store.memberState(node.name);
    this.store.setMember(node.name, 'alive', node.addr);
    // Back from dead, or after a partition: exchange everything with it now, not in 30 s.
    if (before !== undefined && before !== 'alive' && this.memberlist) {
      this.memberlist.pushPullWith(`${node.addr.includes(':') ? `[${node.addr}]` : node.addr}:${node.port}`).catch((err: Error) => {
        this.log('push/pull with a returning node failed', { node: node.name, err: err.message });
      });
    }
  }

  notifyLeave(node: NodeInfo): void {
    this.store.setMember(node.name, node.state === 'left' ? 'left' : 'dead', node.addr);
  }

  notifyUpdate(node: NodeInfo): void {
    this.store.setMember(node.name, node.state as MemberState, node.addr);
  }

  // ---- sending ------------------------------------------------------------

  /** Spreads a local change: at once to the nodes that care, and by gossip to all. */
  announce(e: Entry): void {
    const msg = frame([e]);
    this.queue.queueBroadcast(namedBroadcast(entryKey(e), msg));
    const m = this.memberlist;
    if (!m) return;
    for (const node of this.interestedNodes(e)) {
      m.sendBestEffort(node, msg).catch(() => undefined); // gossip and push/pull cover a lost packet
    }
  }

  /** Nodes with endpoints on the entry's network (for a network entry: every live node). */
  private interestedNodes(e: Entry): string[] {
    const m = this.memberlist!;
    const live = m.members().filter((n) => n.state === 'alive' && n.name !== this.store.self).map((n) => n.name);
    if (e.kind === 'network') return live;
    const having = new Set(this.store.endpoints((e as EndpointEntry).network).map((x) => x.owner));
    return live.filter((n) => having.has(n));
  }

  private decode(buf: Buffer): unknown[] | undefined {
    try {
      if (buf.length < 2 || buf[0] !== VERSION) throw new Error('unknown version');
      const doc = decodeMsgpack(buf.subarray(1), { text: true }) as { e?: unknown };
      if (!Array.isArray(doc?.e)) throw new Error('no entries');
      return doc.e;
    } catch (err) {
      this.badMessages++;
      this.log('undecodable cluster message dropped', { err: (err as Error).message, bytes: buf.length });
      return undefined;
    }
  }
}

function frame(entries: Entry[]): Buffer {
  const body = encodeMsgpack({ e: entries });
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = VERSION;
  out.set(body, 1);
  return out;
}

function namedBroadcast(name: string, msg: Buffer): Broadcast {
  return { name, message: () => msg, invalidates: () => false, finished: () => undefined };
}

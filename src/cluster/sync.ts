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
 * Messages: `[version 1][msgpack { e: Entry[], c?: Certificate[], r?: Revocation[] }]`;
 * `c` and `r` (clusters with a CA, signed-entries.ts) are taken before `e`,
 * and agents without a CA ignore them.
 */
import type { Delegate, EventDelegate, Memberlist, NodeInfo } from '../gossip/index.js';
import { TransmitLimitedQueue, decodeMsgpack, encodeMsgpack, type Broadcast } from '../gossip/index.js';
import { entryKey, type Entry } from './entries.js';
import type { MemberState, OverlayStore } from './store.js';
import type { Credentials, SignedEntries } from './signed-entries.js';

type Message = { e: unknown[]; c?: unknown; r?: unknown };

const VERSION = 1;
/** memberlist's retransmit multiplier (DefaultLANConfig). */
const RETRANSMIT_MULT = 4;

export class ClusterSync implements Delegate, EventDelegate {
  private memberlist?: Memberlist;
  private readonly queue = new TransmitLimitedQueue(() => this.memberlist?.numMembers() ?? 1, RETRANSMIT_MULT);
  /** Messages that could not be decoded. */
  badMessages = 0;
  /** Certificates and revocations, in a cluster with a CA. */
  credentials?: SignedEntries;

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
    const doc = this.decode(msg);
    if (!doc) return;
    for (const e of this.store.merge([...this.takeCredentials(doc), ...doc.e])) this.queue.queueBroadcast(namedBroadcast(entryKey(e), frame([e])));
  }

  getBroadcasts(overhead: number, limit: number): Buffer[] {
    return this.queue.getBroadcasts(overhead, limit);
  }

  localState(): Buffer {
    return frame(this.store.allEntries(), this.credentials?.documents());
  }

  mergeRemoteState(buf: Buffer): void {
    const doc = this.decode(buf);
    if (doc) this.store.merge([...this.takeCredentials(doc), ...doc.e]);
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

  /** Spreads certificates and revocations by gossip, one message each (this node's certificate at start, a published revocation). */
  announceCredentials(docs: Credentials): void {
    for (const c of docs.c) this.queue.queueBroadcast(namedBroadcast(`cert/${c.signature}`, frame([], { c: [c], r: [] })));
    for (const r of docs.r) this.queue.queueBroadcast(namedBroadcast(`revoked/${r.revoked}`, frame([], { c: [], r: [r] })));
  }

  /** Takes a message's certificates and revocations; returns the parked entries they now admit. */
  private takeCredentials(doc: Message): unknown[] {
    if (!this.credentials || (doc.c === undefined && doc.r === undefined)) return [];
    const { fresh, retry, revoked } = this.credentials.receive(doc);
    this.announceCredentials(fresh);
    if (revoked) this.store.emit('change');
    return retry;
  }

  /** Nodes with endpoints on the entry's network (endpoints and groups; for a network entry: every live node). */
  private interestedNodes(e: Entry): string[] {
    const m = this.memberlist!;
    const live = m.members().filter((n) => n.state === 'alive' && n.name !== this.store.self).map((n) => n.name);
    if (e.kind === 'network') return live;
    const having = new Set(this.store.endpoints(e.network).map((x) => x.owner));
    return live.filter((n) => having.has(n));
  }

  private decode(buf: Buffer): Message | undefined {
    try {
      if (buf.length < 2 || buf[0] !== VERSION) throw new Error('unknown version');
      const doc = decodeMsgpack(buf.subarray(1), { text: true }) as Partial<Message>;
      if (!Array.isArray(doc?.e)) throw new Error('no entries');
      return doc as Message;
    } catch (err) {
      this.badMessages++;
      this.log('undecodable cluster message dropped', { err: (err as Error).message, bytes: buf.length });
      return undefined;
    }
  }
}

/** A message; credentials only when there are some, so a cluster without a CA sends what it always did. */
function frame(entries: Entry[], creds?: Credentials): Buffer {
  const body = encodeMsgpack(creds && (creds.c.length > 0 || creds.r.length > 0) ? { e: entries, c: creds.c, r: creds.r } : { e: entries });
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = VERSION;
  out.set(body, 1);
  return out;
}

function namedBroadcast(name: string, msg: Buffer): Broadcast {
  return { name, message: () => msg, invalidates: () => false, finished: () => undefined };
}

/**
 * memberlist's TransmitLimitedQueue: messages waiting to be piggybacked on
 * gossip and probe packets. The least-transmitted go first (largest first
 * within a tier, newest first among equals); each is sent
 * RetransmitMult × ceil(log10(N + 1)) times, then dropped. A new broadcast
 * about a node replaces the queued one about the same node.
 */

/** Something to disseminate. */
export interface Broadcast {
  /** True when this broadcast makes `other` obsolete (only used for unnamed broadcasts). */
  invalidates(other: Broadcast): boolean;
  /** The encoded message, type byte first. */
  message(): Buffer;
  /** Called once when the broadcast leaves the queue (sent enough times, replaced, or reset). */
  finished(): void;
  /** When set, a newer broadcast with the same name replaces this one (NamedBroadcast). */
  readonly name?: string;
  /** When true, never invalidated by others (UniqueBroadcast). */
  readonly unique?: boolean;
}

interface QueuedBroadcast {
  transmits: number;
  msgLen: number;
  id: number;
  b: Broadcast;
}

/** The retransmit limit: mult × ceil(log10(n + 1)). */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** A queue of broadcasts with a per-message retransmit limit. */
export class TransmitLimitedQueue {
  private items: QueuedBroadcast[] = [];
  private readonly byName = new Map<string, QueuedBroadcast>();
  private idGen = 0;
  private dirty = false;

  /**
   * @param numNodes estimate of the cluster size, read at every send
   * @param retransmitMult Config.retransmitMult
   */
  constructor(private readonly numNodes: () => number, private readonly retransmitMult: number) {}

  /** Enqueues a broadcast, replacing or invalidating older ones about the same thing. */
  queueBroadcast(b: Broadcast, initialTransmits = 0): void {
    const item: QueuedBroadcast = { transmits: initialTransmits, msgLen: b.message().length, id: ++this.idGen, b };
    if (b.name !== undefined) {
      const old = this.byName.get(b.name);
      if (old) {
        old.b.finished();
        this.remove(old);
      }
    } else if (!b.unique) {
      const obsolete = this.items.filter((cur) => cur.b.name === undefined && !cur.b.unique && b.invalidates(cur.b));
      for (const cur of obsolete) {
        cur.b.finished();
        this.remove(cur);
      }
    }
    this.items.push(item);
    if (b.name !== undefined) this.byName.set(b.name, item);
    this.dirty = true;
  }

  /**
   * Takes broadcasts that fit in `limit` bytes, counting `overhead` bytes per
   * message, and counts one transmission for each.
   */
  getBroadcasts(overhead: number, limit: number): Buffer[] {
    if (this.items.length === 0) return [];
    const transmitLimit = retransmitLimit(this.retransmitMult, this.numNodes());
    this.sort();
    const toSend: Buffer[] = [];
    const finished: QueuedBroadcast[] = [];
    let bytesUsed = 0;
    for (const cur of this.items) {
      const free = limit - bytesUsed - overhead;
      if (free <= 0) break;
      if (cur.msgLen > free) continue;
      bytesUsed += overhead + cur.msgLen;
      toSend.push(cur.b.message());
      cur.transmits++;
      if (cur.transmits >= transmitLimit) finished.push(cur);
      this.dirty = true;
    }
    for (const cur of finished) {
      this.remove(cur);
      cur.b.finished();
    }
    return toSend;
  }

  /** Number of queued broadcasts. */
  numQueued(): number {
    return this.items.length;
  }

  /** Drops every broadcast, calling `finished()` on each. */
  reset(): void {
    const all = this.items;
    this.items = [];
    this.byName.clear();
    this.idGen = 0;
    for (const cur of all) cur.b.finished();
  }

  /** Keeps at most `maxRetain` broadcasts, dropping the most transmitted first. */
  prune(maxRetain: number): void {
    this.sort();
    while (this.items.length > maxRetain) {
      const cur = this.items[this.items.length - 1]!;
      this.remove(cur);
      cur.b.finished();
    }
  }

  private sort(): void {
    if (!this.dirty) return;
    this.items.sort((a, b) => a.transmits - b.transmits || b.msgLen - a.msgLen || b.id - a.id);
    this.dirty = false;
  }

  private remove(cur: QueuedBroadcast): void {
    const i = this.items.indexOf(cur);
    if (i >= 0) this.items.splice(i, 1);
    if (cur.b.name !== undefined && this.byName.get(cur.b.name) === cur) this.byName.delete(cur.b.name);
    if (this.items.length === 0) this.idGen = 0;
  }
}

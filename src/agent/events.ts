/**
 * The agent's event log: what happened, as typed records (`overlayctl
 * events`). A bounded ring keeps the recent ones for a look back; followers
 * get each new one as it is emitted. Emitting never blocks and never grows
 * memory past the ring: a follower that cannot keep up is the API's concern
 * (it drops and says how many).
 *
 * Types (field names are a contract, docs/debugging.md):
 *   drop      a frame the data path dropped (sampled, a bounded rate per reason)
 *   member    a cluster member came up, became suspect, died or left
 *   network   a network was added or removed (any host's)
 *   endpoint  an endpoint was added, removed or moved (any host's)
 *   key       a network's data-plane key was added, rotated or retired
 *   peer      a remote VTEP's data-path state changed (up / down)
 *   note      something the agent did on its own that an operator should know
 *   identity  an entry, certificate or revocation refused (reason as in `stats`),
 *             a certificate expired, revoked or reloaded (docs/identity.md)
 *   group     multicast: a local endpoint joined or left a group; a remote
 *             host's group appeared or went (docs/multicast.md)
 */

export const EVENT_TYPES = ['drop', 'member', 'network', 'endpoint', 'key', 'peer', 'note', 'identity', 'group'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One event. Every event has a one-line `summary`; the other fields depend on the type. */
export interface OverlayEvent {
  /** ISO 8601, milliseconds. */
  time: string;
  type: EventType;
  summary: string;
  network?: string;
  vni?: number;
  /** drop: the reason of `stats` (`no_fdb`, `too_big`, ...). */
  reason?: string;
  [field: string]: unknown;
}

/** What emit takes: the time is filled in. */
export type EventInput = Omit<OverlayEvent, 'time'> & { time?: string };

/** Which events a reader wants; absent fields match everything. */
export interface EventFilter {
  type?: EventType;
  network?: string;
  reason?: string;
}

export type EventListener = (event: OverlayEvent) => void;

export const DEFAULT_EVENT_RING = 1000;

export function eventMatches(event: OverlayEvent, filter: EventFilter): boolean {
  return (
    (filter.type === undefined || event.type === filter.type) &&
    (filter.network === undefined || event.network === filter.network) &&
    (filter.reason === undefined || event.reason === filter.reason)
  );
}

export class EventLog {
  private readonly ring: OverlayEvent[] = [];
  private next = 0;
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly capacity = DEFAULT_EVENT_RING) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event ring capacity must be a positive integer, not ${capacity}`);
  }

  emit(input: EventInput): OverlayEvent {
    const event = { ...input, time: input.time ?? new Date().toISOString() } as OverlayEvent;
    if (this.ring.length < this.capacity) this.ring.push(event);
    else this.ring[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** The kept events, oldest first, that match `filter`; the last `limit` of them when given. */
  recent(filter: EventFilter = {}, limit?: number): OverlayEvent[] {
    const ordered = this.ring.length < this.capacity ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    const matching = ordered.filter((e) => eventMatches(e, filter));
    return limit === undefined ? matching : matching.slice(-limit);
  }

  /** Calls `listener` with every event emitted from now on; returns the unsubscribe. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

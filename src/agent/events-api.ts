/**
 * `GET /v1/events?type=&network=&reason=&limit=&follow=1` on the control API.
 *
 * Without `follow`: the kept events that match, oldest first (the last
 * `limit`), as one JSON array. With `follow=1`: NDJSON, one event per line,
 * as they happen (after the last `limit` kept ones when `limit` is given),
 * until the client goes. A reader that does not keep up gets at most
 * MAX_BUFFERED bytes queued; what does not fit is dropped and, once the
 * socket drains, reported as one line `{"time", "type": "lost", "count"}`.
 */
import type http from 'node:http';
import { OverlayError } from '../cluster/errors.js';
import { DROP_REASONS } from '../dataplane/datapath.js';
import { EVENT_TYPES, eventMatches, type EventFilter, type EventLog, type EventType, type OverlayEvent } from './events.js';

/** Bytes queued for one slow follower at most before events are dropped for it. */
export const MAX_BUFFERED = 256 * 1024;
/** Largest `limit`. */
const MAX_LIMIT = 100_000;

export interface EventsQuery {
  filter: EventFilter;
  limit?: number;
  follow: boolean;
}

/** Checks the query: an unknown type or reason, or a bad limit, is BAD_REQUEST naming what is allowed. */
export function parseEventsQuery(q: URLSearchParams): EventsQuery {
  const filter: EventFilter = {};
  const type = q.get('type');
  if (type !== null) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) throw new OverlayError('BAD_REQUEST', `unknown event type "${type}": one of ${EVENT_TYPES.join(', ')}`);
    filter.type = type as EventType;
  }
  const reason = q.get('reason');
  if (reason !== null) {
    if (!(DROP_REASONS as readonly string[]).includes(reason)) throw new OverlayError('BAD_REQUEST', `unknown drop reason "${reason}": one of ${DROP_REASONS.join(', ')}`);
    filter.reason = reason;
  }
  const network = q.get('network');
  if (network !== null) filter.network = network;
  const limitText = q.get('limit');
  let limit: number | undefined;
  if (limitText !== null) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT) throw new OverlayError('BAD_REQUEST', `"limit" must be 1..${MAX_LIMIT}`);
  }
  const follow = q.get('follow');
  return { filter, limit, follow: follow === '1' || follow === 'true' };
}

/** The followers being streamed to, so the API can end them when it closes. */
export class EventStreams {
  private readonly open = new Set<http.ServerResponse>();

  constructor(private readonly log: EventLog) {}

  /** The kept events of `query` (the answer without `follow`). */
  recent(query: EventsQuery): OverlayEvent[] {
    return this.log.recent(query.filter, query.limit);
  }

  /** Streams NDJSON to `res` until the client goes or closeAll. */
  follow(query: EventsQuery, req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    let lost = 0;
    const write = (event: object): void => void res.write(JSON.stringify(event) + '\n');
    if (query.limit !== undefined) for (const e of this.log.recent(query.filter, query.limit)) write(e);
    const unsubscribe = this.log.subscribe((event) => {
      if (!eventMatches(event, query.filter)) return;
      if (res.writableLength > MAX_BUFFERED) lost++;
      else write(event);
    });
    res.on('drain', () => {
      if (lost === 0) return;
      write({ time: new Date().toISOString(), type: 'lost', count: lost, summary: `${lost} events not sent: the reader fell behind` });
      lost = 0;
    });
    this.open.add(res);
    const end = (): void => {
      unsubscribe();
      this.open.delete(res);
    };
    req.socket.on('close', end);
    res.on('close', end);
    res.flushHeaders();
  }

  /** Streams open now. */
  get followers(): number {
    return this.open.size;
  }

  /** Ends every stream (the API is closing). */
  closeAll(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }
}

/**
 * `overlayctl events [--follow] [--network N] [--reason R] [--type T] [--limit N]`:
 * the agent's event log (GET /v1/events; docs/debugging.md "events"). Text:
 * one line per event, `time type network summary`; with --json one JSON
 * object per line (NDJSON), as the API sends them.
 */
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { ControlClient } from '../api-client/client.js';
import { EVENT_TYPES, type OverlayEvent } from '../agent/events.js';

interface EventsOptions {
  follow?: boolean;
  network?: string;
  reason?: string;
  type?: string;
  limit?: number;
}

/** The human line of one event. */
export function eventLine(e: OverlayEvent): string {
  return `${e.time} ${e.type.padEnd(8)} ${(e.network ?? '-').padEnd(12)} ${e.summary}`;
}

function query(o: EventsOptions): string {
  if (o.type !== undefined && !(EVENT_TYPES as readonly string[]).includes(o.type)) {
    throw new Error(`unknown event type "${o.type}": one of ${EVENT_TYPES.join(', ')}`);
  }
  const q = new URLSearchParams();
  for (const key of ['type', 'network', 'reason'] as const) if (o[key] !== undefined) q.set(key, o[key]);
  if (o.limit !== undefined) q.set('limit', String(o.limit));
  if (o.follow) q.set('follow', '1');
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** A sink that hands each complete NDJSON line of the stream to `line`. */
function lines(line: (text: string) => void): Writable {
  let rest = '';
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) if (p.trim() !== '') line(p);
      done();
    },
  });
}

export function addEventsCommand(program: Command, client: () => ControlClient, json: () => boolean, int: (v: string) => number): void {
  program
    .command('events')
    .description('what happened: sampled data-path drops and member, network, endpoint, key, peer, note, identity and group events')
    .option('--follow', 'keep streaming new events until interrupted')
    .option('--network <name>', 'only events of this network')
    .option('--reason <reason>', 'only drops of this reason (as stats names it)')
    .option('--type <type>', `only events of this type: ${EVENT_TYPES.join(', ')}`)
    .option('--limit <n>', 'the last n kept events (with --follow: shown first)', int)
    .action(async (o: EventsOptions) => {
      const print = (e: OverlayEvent): void => void process.stdout.write((json() ? JSON.stringify(e) : eventLine(e)) + '\n');
      const path = `/v1/events${query(o)}`;
      if (!o.follow) {
        for (const e of await client().get<OverlayEvent[]>(path)) print(e);
        return;
      }
      // stream() waits as long as the agent streams (no call timeout), until interrupted.
      const sink = lines((text) => (json() ? process.stdout.write(text + '\n') : print(JSON.parse(text) as OverlayEvent)));
      await client().stream(path, undefined, sink);
    });
}

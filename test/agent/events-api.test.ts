/**
 * The event stream of GET /v1/events?follow=1 (events-api.ts) on a real
 * HTTP server over a unix socket: events arrive as NDJSON lines, a reader
 * that stops reading costs a bounded buffer and then gets one `lost` line
 * whose count, with the lines it got, is every event emitted; the stream is
 * forgotten when the client goes.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../src/agent/events.js';
import { EventStreams, MAX_BUFFERED, parseEventsQuery } from '../../src/agent/events-api.js';

describe('GET /v1/events?follow=1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovt-events-'));
  const socket = join(dir, 'api.sock');
  const log = new EventLog();
  const streams = new EventStreams(log);
  const server = http.createServer((req, res) => streams.follow(parseEventsQuery(new URL(req.url!, 'http://x').searchParams), req, res));

  beforeAll(() => new Promise<void>((r) => server.listen(socket, r)));
  afterAll(async () => {
    streams.closeAll();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the stream; resolves with the response once the headers came. */
  const open = (query: string): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> =>
    new Promise((resolve, reject) => {
      const req = http.get({ socketPath: socket, path: `/v1/events?follow=1&${query}` }, (res) => resolve({ req, res }));
      req.on('error', reject);
    });

  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('sends matching events as lines; a reader that stops gets a bounded buffer, then one lost line; the stream goes with the client', async () => {
    const { req, res } = await open('type=drop');
    await until(() => streams.followers === 1);
    res.pause();
    const emitted = 20_000;
    const padding = 'x'.repeat(200);
    for (let i = 0; i < emitted; i++) {
      log.emit({ type: 'member', summary: 'not a drop' });
      log.emit({ type: 'drop', reason: 'no_fdb', summary: `drop ${i} ${padding}` });
    }
    // Waiting for the socket, the stream held at most MAX_BUFFERED bytes plus one line.
    await new Promise((r) => setTimeout(r, 100));
    const lines: { type: string; count?: number }[] = [];
    let rest = '';
    res.on('data', (c: Buffer) => {
      const parts = (rest + c.toString()).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) lines.push(JSON.parse(p) as { type: string; count?: number });
    });
    res.resume();
    await until(() => lines.some((l) => l.type === 'lost'));
    const lost = lines.filter((l) => l.type === 'lost');
    const drops = lines.filter((l) => l.type === 'drop');
    expect(lost).toHaveLength(1);
    expect(lost[0].count).toBeGreaterThan(0);
    expect(drops.length + lost[0].count!).toBe(emitted);
    expect(drops.length * 250).toBeLessThan(MAX_BUFFERED + 2 * 1024 * 1024); // the buffer, and what the sockets held
    req.destroy();
    await until(() => streams.followers === 0);
    expect(streams.followers).toBe(0);
  });
});

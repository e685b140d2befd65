/**
 * What the events tests share: a follower of GET /v1/events?follow=1 in the
 * test process, a Prometheus scrape inside an agent's namespace, an agent's
 * RSS (the flood itself is src/testkit/flood.ts, shared with bench/).
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { run } from '../../src/testkit/agents.js';
import type { OverlayEvent } from '../../src/agent/events.js';

/** A follower of the agent's event stream: the events so far, and close(). */
export interface Follower {
  events: OverlayEvent[];
  close(): void;
}

/** Opens GET /v1/events?follow=1&… on `socket`; resolves once the agent answered with the stream. */
export function follow(socket: string, query: string): Promise<Follower> {
  return new Promise((resolve, reject) => {
    const events: OverlayEvent[] = [];
    let rest = '';
    const req = http.get({ socketPath: socket, path: `/v1/events?follow=1&${query}` }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`events stream: HTTP ${res.statusCode}`));
      res.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) if (line) events.push(JSON.parse(line) as OverlayEvent);
      });
      res.on('error', () => undefined);
      resolve({ events, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

/** GET http://127.0.0.1:`port`/metrics from inside namespace `ns`. */
export async function scrape(ns: string, port: number): Promise<string> {
  const script = `fetch('http://127.0.0.1:${port}/metrics').then(async (r) => process.stdout.write(await r.text()), (e) => { console.error(e.message); process.exit(1); })`;
  const r = await run(['ip', 'netns', 'exec', ns, process.execPath, '-e', script], 20_000);
  if (r.code !== 0) throw new Error(`scrape in ${ns} failed: ${r.stderr}`);
  return r.stdout;
}

/** The value of one sample line `name{labels} value` of a scrape (undefined when absent). */
export function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Resident set size of process `pid`, in MiB. */
export function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

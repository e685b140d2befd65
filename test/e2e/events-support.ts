/**
 * What the events tests share: a flood of garbage VXLAN from a namespace
 * host, a follower of GET /v1/events?follow=1 in the test process, a
 * Prometheus scrape inside an agent's namespace, an agent's RSS.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { run } from '../../src/testkit/agents.js';
import type { OverlayEvent } from '../../src/agent/events.js';

/** The garbage kinds, in the order the ingress checks meet them, and the reason each earns. */
export const FLOOD_REASONS = ['malformed', 'bad_vxlan', 'unknown_vni', 'unknown_vtep'] as const;

/**
 * Sends `count` datagrams from namespace `ns` to `dst`:4789, the kinds of
 * FLOOD_REASONS in turn, from four source ports (so the native workers share
 * them), `vni` the network of the unknown_vtep kind; stops after `maxMs`.
 * Resolves with what was sent and how long it took.
 */
export async function flood(ns: string, dst: string, count: number, vni: number, maxMs = 30_000): Promise<{ sent: number; ms: number }> {
  const script = `
    const dgram = require('dgram');
    const [dst, count, vni, maxMs] = [process.argv[1], +process.argv[2], +process.argv[3], +process.argv[4]];
    const inner = Buffer.alloc(14 + 28); inner.writeUInt16BE(0x0800, 12);
    const vxlan = (flags, v) => { const h = Buffer.from([flags, 0, 0, 0, v >> 16, (v >> 8) & 255, v & 255, 0]); return Buffer.concat([h, inner]); };
    const kinds = [Buffer.alloc(10, 8), vxlan(0, vni), vxlan(8, 0xfffffe), vxlan(8, vni)];
    const socks = [0, 1, 2, 3].map(() => dgram.createSocket('udp4'));
    const start = Date.now();
    let sent = 0;
    (async () => {
      while (sent < count && Date.now() - start < maxMs) {
        const batch = Math.min(256, count - sent);
        await Promise.all(Array.from({ length: batch }, (_, i) => new Promise((r) => {
          const n = sent + i;
          socks[(n >> 2) % 4].send(kinds[n % 4], 4789, dst, () => r());
        })));
        sent += batch;
      }
      for (const s of socks) s.close();
      process.stdout.write(JSON.stringify({ sent, ms: Date.now() - start }));
    })();`;
  const r = await run(['ip', 'netns', 'exec', ns, process.execPath, '-e', script, dst, String(count), String(vni), String(maxMs)], maxMs + 20_000);
  if (r.code !== 0) throw new Error(`flood from ${ns} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { sent: number; ms: number };
}

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

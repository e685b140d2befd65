/**
 * A flood of garbage VXLAN datagrams from a namespace host (the events tests
 * and bench/drop-flood.ts): each kind meets a different ingress check of
 * docs/datapath.md, so a flood exercises several drop reasons at once.
 */
import { run } from './agents.js';

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

/**
 * The TypeScript path's drop sampler (src/dataplane/drop-sampler.ts): a
 * token bucket per reason on a fake clock — the burst, then the rate, the
 * suppressed counts adding up to every drop offered — and the per-network
 * counts with their samples.
 */
import { describe, expect, it } from 'vitest';
import { DROP_EVENT_BURST, DROP_EVENT_RATE, type DropSample } from '../../src/dataplane/datapath.js';
import { DropEvents, DropSampler } from '../../src/dataplane/drop-sampler.js';

describe('DropSampler', () => {
  it('lets a burst through, then the rate; suppressed drops are carried by the next sample', () => {
    let now = 1000;
    const s = new DropSampler(DROP_EVENT_RATE, DROP_EVENT_BURST, () => now);
    const first = Array.from({ length: 25 }, () => s.offer('no_fdb'));
    expect(first.filter((x) => x !== undefined)).toHaveLength(DROP_EVENT_BURST);
    expect(first.slice(0, DROP_EVENT_BURST).every((x) => x === 0)).toBe(true);
    now += 1000 / DROP_EVENT_RATE; // one token
    expect(s.offer('no_fdb')).toBe(25 - DROP_EVENT_BURST);
    expect(s.offer('no_fdb')).toBeUndefined();
    expect(s.offer('bad_vxlan')).toBe(0); // reasons have their own buckets
  });

  it('over any span sends at most rate × seconds + burst, and events + suppressed = drops', () => {
    let now = 0;
    const s = new DropSampler(DROP_EVENT_RATE, DROP_EVENT_BURST, () => now);
    let events = 0;
    let suppressed = 0;
    const drops = 100_000;
    for (let i = 0; i < drops; i++) {
      now = i * 0.05; // 20,000 drops per second for 5 s
      const n = s.offer('unknown_vni');
      if (n !== undefined) (events++, (suppressed += n));
    }
    now += 2000;
    const tail = s.offer('unknown_vni')!;
    expect(events).toBeLessThanOrEqual(DROP_EVENT_RATE * 5 + DROP_EVENT_BURST);
    expect(events).toBeGreaterThanOrEqual(DROP_EVENT_RATE * 5);
    expect(events + 1 + suppressed + tail).toBe(drops + 1);
  });
});

describe('DropEvents (the TypeScript path)', () => {
  it('counts drops per network, samples them with a bounded head, and keeps only SPI and sequence of ESP', () => {
    const d = new DropEvents();
    const got: DropSample[] = [];
    d.setListener((x) => got.push(x));
    d.offer({ reason: 'no_fdb', direction: 'egress', kind: 'frame', vni: 4100, bytes: Buffer.alloc(1500, 1) });
    d.offer({ reason: 'unknown_vtep', direction: 'ingress', kind: 'vxlan', vni: 4100, vtep: '198.18.0.3', bytes: Buffer.alloc(60) });
    d.offer({ reason: 'esp_bad_spi', direction: 'ingress', kind: 'esp', vtep: '198.18.0.3', bytes: Buffer.alloc(100, 7) });
    expect(d.networkDrops(4100)).toMatchObject({ no_fdb: 1, unknown_vtep: 1, esp_bad_spi: 0 });
    expect(got.map((x) => [x.reason, x.len, x.head.length, x.suppressed])).toEqual([
      ['no_fdb', 1500, 128, 0],
      ['unknown_vtep', 60, 60, 0],
      ['esp_bad_spi', 100, 8, 0],
    ]);
    expect(got[1]).toMatchObject({ vni: 4100, vtep: '198.18.0.3', direction: 'ingress', kind: 'vxlan' });
    d.removeNetwork(4100);
    expect(d.networkDrops(4100).no_fdb).toBe(0);
  });
});

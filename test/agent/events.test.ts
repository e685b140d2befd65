/**
 * The event log (src/agent/events.ts), the drop events made of data-path
 * samples (drop-events.ts) and the query of GET /v1/events (events-api.ts).
 */
import { describe, expect, it } from 'vitest';
import { EventLog } from '../../src/agent/events.js';
import { dropEvent } from '../../src/agent/drop-events.js';
import { parseEventsQuery } from '../../src/agent/events-api.js';
import type { DropSample } from '../../src/dataplane/datapath.js';

const mac = (s: string): Buffer => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));

/** An Ethernet + IPv4 header from 198.19.1.2 to 198.19.1.99 (the rest zero). */
function ipv4Frame(): Buffer {
  const f = Buffer.alloc(14 + 20 + 8);
  mac('02:42:c6:13:01:63').copy(f, 0);
  mac('02:42:c6:13:01:02').copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  Buffer.from([198, 19, 1, 2]).copy(f, 26);
  Buffer.from([198, 19, 1, 99]).copy(f, 30);
  return f;
}

const sample = (over: Partial<DropSample>): DropSample => ({ reason: 'no_fdb', direction: 'egress', kind: 'frame', suppressed: 0, len: 42, head: ipv4Frame(), ...over });

describe('EventLog', () => {
  it('keeps the last `capacity` events, oldest first, filtered and limited, and tells followers', () => {
    const log = new EventLog(3);
    const seen: string[] = [];
    const off = log.subscribe((e) => seen.push(e.summary));
    for (let i = 0; i < 5; i++) log.emit({ type: i % 2 ? 'drop' : 'member', summary: `e${i}`, reason: i % 2 ? 'no_fdb' : undefined });
    expect(log.recent().map((e) => e.summary)).toEqual(['e2', 'e3', 'e4']);
    expect(log.recent({ type: 'drop' }).map((e) => e.summary)).toEqual(['e3']);
    expect(log.recent({}, 1).map((e) => e.summary)).toEqual(['e4']);
    expect(seen).toHaveLength(5);
    off();
    log.emit({ type: 'note', summary: 'after' });
    expect(seen).toHaveLength(5);
    expect(log.recent().at(-1)?.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});

describe('drop events from data-path samples', () => {
  const networkOf = (vni: number): string | undefined => (vni === 4100 ? 'blue' : undefined);

  it('an egress frame: its IP addresses, the network, a one-line summary with the suppressed count', () => {
    const e = dropEvent(sample({ vni: 4100, suppressed: 7 }), networkOf);
    expect(e).toMatchObject({ type: 'drop', network: 'blue', vni: 4100, reason: 'no_fdb', direction: 'egress', src: '198.19.1.2', dst: '198.19.1.99', suppressed: 7 });
    expect(e.summary).toBe('no_fdb: egress IPv4 198.19.1.2 → 198.19.1.99 on blue (+7 suppressed)');
  });

  it('an ingress datagram: the VNI read from its header, the VTEP; an unknown VNI has no network', () => {
    const vxlan = Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0x03, 0xe7, 0]), ipv4Frame()]);
    const e = dropEvent(sample({ reason: 'unknown_vni', direction: 'ingress', kind: 'vxlan', vtep: '198.18.0.3', head: vxlan }), networkOf);
    expect(e).toMatchObject({ vni: 999, vtep: '198.18.0.3', src: '198.19.1.2', dst: '198.19.1.99' });
    expect(e.network).toBeUndefined();
    expect(e.summary).toBe('unknown_vni: ingress IPv4 198.19.1.2 → 198.19.1.99 for vni 999 from 198.18.0.3');
  });

  it('garbage and ESP: no addresses, never a throw', () => {
    const junk = dropEvent(sample({ reason: 'bad_vxlan', direction: 'ingress', kind: 'vxlan', head: Buffer.from([1, 2, 3]), len: 3 }), networkOf);
    expect(junk).toMatchObject({ reason: 'bad_vxlan', summary: 'bad_vxlan: ingress datagram of 3 bytes' });
    expect(junk.src).toBeUndefined();
    const esp = dropEvent(sample({ reason: 'esp_bad_spi', direction: 'ingress', kind: 'esp', head: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1]), vtep: '198.18.0.2' }), networkOf);
    expect(esp).toMatchObject({ spi: '0xdeadbeef', summary: 'esp_bad_spi: ingress ESP spi 0xdeadbeef from 198.18.0.2' });
    const arp = Buffer.alloc(42);
    arp.writeUInt16BE(0x0806, 12);
    Buffer.from([198, 19, 1, 2]).copy(arp, 28);
    Buffer.from([198, 19, 1, 77]).copy(arp, 38);
    expect(dropEvent(sample({ reason: 'arp_unknown', head: arp }), networkOf)).toMatchObject({ src: '198.19.1.2', dst: '198.19.1.77' });
  });
});

describe('GET /v1/events query', () => {
  it('accepts the filters and refuses an unknown type or reason, or a bad limit, naming what is allowed', () => {
    expect(parseEventsQuery(new URLSearchParams('type=drop&reason=no_fdb&network=blue&limit=5&follow=1'))).toEqual({
      filter: { type: 'drop', reason: 'no_fdb', network: 'blue' },
      limit: 5,
      follow: true,
    });
    expect(() => parseEventsQuery(new URLSearchParams('type=drops'))).toThrow(/unknown event type "drops": one of drop, member/);
    expect(() => parseEventsQuery(new URLSearchParams('reason=nope'))).toThrow(/unknown drop reason "nope"/);
    expect(() => parseEventsQuery(new URLSearchParams('limit=0'))).toThrow(/"limit" must be/);
    expect(() => parseEventsQuery(new URLSearchParams('limit=x'))).toThrow(/"limit" must be/);
  });
});

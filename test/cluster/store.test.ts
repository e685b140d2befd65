import { describe, expect, it } from 'vitest';
import { OverlayStore } from '../../src/cluster/store.js';
import type { EndpointEntry, NetworkEntry } from '../../src/cluster/entries.js';
import { toEndpointRecord } from '../../src/cluster/records.js';
import { pair } from './support.js';


const blue = (s: OverlayStore, vni?: number) => s.commitNetwork(s.prepareNetwork({ name: 'blue', subnets: ['198.19.1.0/24', '2001:db8:1::/64'], mtu: 1450, vni }));

describe('replicated overlay store', () => {
  it('spreads networks and endpoints and keeps the newest write', () => {
    const { a, b, sync } = pair();
    blue(a);
    sync();
    expect(b.network('blue').vni).toBe(4096);
    const ep = a.commitEndpoint(a.prepareEndpoint({ network: 'blue', netns: 'c1' }));
    sync();
    expect(b.endpoints('blue').map((e) => e.ips)).toEqual([['198.19.1.1', '2001:db8:1::1']]);
    a.commitEndpointRemoval(ep.id);
    sync();
    expect(b.endpoints('blue')).toEqual([]);
    // A stale copy of the endpoint (a slow peer) cannot bring it back: the tombstone is newer.
    b.merge([{ ...ep }]);
    expect(b.endpoints('blue')).toEqual([]);
  });

  it('hides the endpoints of a dead node, shows them again when it is back, forgets them when it leaves', () => {
    const { a, b, sync } = pair();
    blue(a);
    sync();
    a.commitEndpoint(a.prepareEndpoint({ network: 'blue', netns: 'c1' }));
    sync();
    b.setMember('a', 'dead', '198.18.0.1');
    expect(b.endpoints('blue')).toHaveLength(0);
    b.setMember('a', 'alive', '198.18.0.1');
    expect(b.endpoints('blue')).toHaveLength(1);
    b.setMember('a', 'left', '198.18.0.1');
    expect(b.endpoints('blue')).toHaveLength(0);
    expect(b.allEntries().filter((e) => e.kind === 'endpoint')).toHaveLength(0);
  });

  it('settles an address claimed twice in favour of the earlier claim', () => {
    const { a, b, sync } = pair();
    blue(a);
    sync();
    // Both claim the same addresses at the same moment, before hearing of each other
    // (allocation alone avoids this: each node has its own stripe, see addresses.test.ts).
    const ips = ['198.19.1.7', '2001:db8:1::7'];
    const ea = a.commitEndpoint(a.prepareEndpoint({ network: 'blue', netns: 'c1', ips }));
    const eb = b.commitEndpoint(b.prepareEndpoint({ network: 'blue', netns: 'c2', ips }));
    expect(ea.ips).toEqual(eb.ips);
    sync();
    const lostA = a.lostClaims();
    const lostB = b.lostClaims();
    // Exactly one side lost each address, and it is the same side for both families.
    expect(lostA.length + lostB.length).toBe(2);
    expect(lostA.length === 0 || lostB.length === 0).toBe(true);
  });

  it('settles a VNI claimed twice, and refuses a pinned VNI that is taken', () => {
    const { a, b, sync } = pair();
    a.commitNetwork(a.prepareNetwork({ name: 'red', subnets: ['198.19.2.0/24'], mtu: 1450 }));
    b.commitNetwork(b.prepareNetwork({ name: 'green', subnets: ['198.19.3.0/24'], mtu: 1450 }));
    sync();
    const losers = [...a.lostVnis(), ...b.lostVnis()];
    expect(losers).toHaveLength(1);
    expect(() => a.prepareNetwork({ name: 'x', subnets: ['198.19.9.0/24'], mtu: 1450, vni: 4096 })).toThrow(/VNI 4096/);
  });

  it('refuses malformed and out-of-range entries from gossip and counts them', () => {
    const { a, b, sync } = pair();
    blue(a);
    sync();
    const good = a.prepareEndpoint({ network: 'blue', netns: 'c1' });
    const base: EndpointEntry = { ...good, owner: 'a', ltime: 100, created: 100 };
    b.merge([
      { ...base, id: 'm1', mac: 'zz:zz' },
      { ...base, id: 'm2', mac: '01:00:5e:00:00:01' },
      { ...base, id: 'm3', ips: ['198.19.2.5'] },
      { ...base, id: 'm4', vtep: '198.18.0.66' },
      { ...base, id: 'm5', network: 'nosuch' },
      { ...base, id: 'm6', ltime: -1 },
      { ...base, id: 'm7', runtime: 'podman' as EndpointEntry['runtime'] },
      { ...base, id: 'm8', container: 'x'.repeat(257) },
      { kind: 'weird' },
      42,
    ]);
    expect(b.endpoints()).toHaveLength(0);
    expect(b.rejected).toMatchObject({ bad_mac: 2, ip_outside_subnet: 1, vtep_mismatch: 1, unknown_network: 1, malformed: 5 });
    const collide: NetworkEntry = { ...a.network('blue'), name: 'other', id: 'x', subnets: ['198.19.4.0/24'], created: 999, ltime: 999, owner: 'b' };
    a.merge([collide]);
    expect(a.rejected.vni_collision).toBe(1);
    expect(a.findNetwork('other')).toBeUndefined();
  });

  it('carries who attached an endpoint: runtime and container id, manual when an older agent sent none', () => {
    const { a, b, sync } = pair();
    blue(a);
    sync();
    a.commitEndpoint(a.prepareEndpoint({ network: 'blue', netns: 'c1', runtime: 'cni', container: 'k8s-abc123' }));
    a.commitEndpoint(a.prepareEndpoint({ network: 'blue', netns: 'c2' }));
    sync();
    const seen = b.endpoints('blue').map((e) => toEndpointRecord(e));
    expect(seen.map((r) => [r.netns, r.runtime, r.container])).toEqual([
      ['c1', 'cni', 'k8s-abc123'],
      ['c2', 'manual', undefined],
    ]);
    // An entry from an agent that predates the fields has neither; it is shown as manual.
    const { runtime: _r, container: _c, ...old } = { ...a.prepareEndpoint({ network: 'blue', netns: 'c3' }), owner: 'a', ltime: 500, created: 500 };
    b.merge([old]);
    expect(toEndpointRecord(b.endpoints('blue').find((e) => e.netns === 'c3')!).runtime).toBe('manual');
  });

  it('re-asserts its own endpoints against stale versions from others', () => {
    const { a, b, sync } = pair();
    blue(a);
    sync();
    const ep = a.commitEndpoint(a.prepareEndpoint({ network: 'blue', netns: 'c1' }));
    sync();
    a.commitEndpointRemoval(ep.id);
    // b never heard of the removal and pushes a version claiming a newer time.
    b.merge([{ ...ep, ltime: 10_000 }]);
    a.merge(b.allEntries());
    sync();
    expect(b.endpoints('blue')).toHaveLength(0);
  });

  it('reaps tombstones after their time', () => {
    let now = 0;
    const s = new OverlayStore('a', '198.18.0.1', () => now);
    blue(s);
    s.commitNetworkRemoval('blue');
    expect(s.allEntries()).toHaveLength(1);
    now = 29 * 60_000;
    expect(s.reapTombstones()).toBe(0);
    now = 31 * 60_000;
    expect(s.reapTombstones()).toBe(1);
    expect(s.allEntries()).toHaveLength(0);
  });
});

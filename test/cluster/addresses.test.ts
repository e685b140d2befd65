import { describe, expect, it } from 'vitest';
import { OverlayStore } from '../../src/cluster/store.js';
import { AddressReservations, allocateStriped, stripeOf } from '../../src/cluster/addresses.js';
import { firstHost, parseCidr } from '../../src/wire/index.js';

/** `names` as stores that all see each other alive, and a function that syncs them all. */
function cluster(...names: string[]) {
  const stores = names.map((n, i) => new OverlayStore(n, `198.18.0.${i + 1}`));
  for (const s of stores) names.forEach((n, i) => s.setMember(n, 'alive', `198.18.0.${i + 1}`));
  const sync = () => {
    for (const s of stores) for (const o of stores) if (s !== o) s.merge(o.allEntries());
  };
  return { stores, sync };
}

const subnet = parseCidr('198.19.70.0/24');

describe('address allocation', () => {
  it('gives each live member its own stripe, and falls back to any free address when the stripe is full', () => {
    expect(stripeOf('b', ['c', 'a'])).toEqual({ stripe: 1, stripes: 3 });
    expect(allocateStriped(subnet, new Set(), 0, 2)).toBe('198.19.70.1');
    expect(allocateStriped(subnet, new Set(['198.19.70.2']), 1, 2)).toBe('198.19.70.4');
    expect(allocateStriped(subnet, new Set(), 0, 1)).toBe('198.19.70.1');
    const small = parseCidr('198.19.71.0/29'); // hosts .1 … .6
    const odd = new Set(['198.19.71.2', '198.19.71.4', '198.19.71.6']);
    expect(allocateStriped(small, odd, 1, 2)).toBe('198.19.71.1');
    expect(firstHost(subnet)).toBe('198.19.70.1');
  });

  it('hands out distinct addresses on two hosts allocating at the same moment (the attach race)', () => {
    const { stores: [a, b], sync } = cluster('host1', 'host2');
    a.commitNetwork(a.prepareNetwork({ name: 'blue', subnets: ['198.19.70.0/24'], mtu: 1450 }));
    sync();
    // Ten endpoints, five per host, none hearing of the others before all are made.
    const made = [a, b].flatMap((s) => Array.from({ length: 5 }, (_, i) => s.commitEndpoint(s.prepareEndpoint({ network: 'blue', netns: `c${i}` }))));
    const ips = made.flatMap((e) => e.ips);
    expect(new Set(ips).size).toBe(10);
    sync();
    expect([...a.lostClaims(), ...b.lostClaims()]).toEqual([]);
  });

  it('holds a reserved address until the endpoint takes it, and lets it go on release or expiry', () => {
    let now = 0;
    const s = new OverlayStore('host1', '198.18.0.1', () => now);
    s.commitNetwork(s.prepareNetwork({ name: 'blue', subnets: ['198.19.70.0/24'], mtu: 1450 }));
    const first = s.reserveAddress('blue');
    const second = s.reserveAddress('blue');
    expect(second).not.toBe(first);
    // An attach without the reservation cannot take it; Docker's endpoint (reserved: true) can.
    expect(() => s.prepareEndpoint({ network: 'blue', netns: 'x', ips: [first] })).toThrow(/already in use/);
    const ep = s.commitEndpoint(s.prepareEndpoint({ network: 'blue', netns: '', ips: [first], reserved: true, runtime: 'docker', container: 'd1' }));
    expect(ep.ips).toEqual([first]);
    expect(s.reservations.holds('blue', first)).toBe(false);
    expect(() => s.reserveAddress('blue', first)).toThrow(/already in use/);
    expect(s.reservations.release('blue', second)).toBe(true);
    expect(s.reserveAddress('blue')).toBe(second);
    now += 10 * 60_000; // expired: free again
    expect(s.usedAddresses('blue').has(second)).toBe(false);
    expect(() => s.reserveAddress('blue', '198.19.71.1')).toThrow(/not a usable address/);
  });

  it('keeps a reservation without expiry until it is released', () => {
    let now = 0;
    const r = new AddressReservations(() => now);
    r.reserve('blue', '198.19.70.1', Infinity);
    now = 1e12;
    expect(r.of('blue')).toEqual(['198.19.70.1']);
    r.dropNetwork('blue');
    expect(r.of('blue')).toEqual([]);
  });
});

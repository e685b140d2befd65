/**
 * Multicast in the overlay store (issue 14): the network setting, the group
 * entries (one per network, group and host) with the endpoints' ownership,
 * tombstone and liveness rules, their validation, and static peers' groups.
 */
import { describe, expect, it } from 'vitest';
import { OverlayStore } from '../../src/cluster/store.js';
import { DEFAULT_MULTICAST_RATE } from '../../src/dataplane/datapath.js';
import type { GroupEntry } from '../../src/cluster/entries.js';
import { toNetworkRecord } from '../../src/cluster/records.js';
import { pair } from './support.js';


const create = (s: OverlayStore, name: string, extra: { multicast?: boolean; multicastRate?: number } = {}, subnet = '198.19.1.0/24') =>
  s.commitNetwork(s.prepareNetwork({ name, subnets: [subnet, ...(name === 'blue' ? ['2001:db8:1::/64'] : [])], mtu: 1450, ...extra }));

/** a and b know network blue (multicast) and a has an endpoint on it. */
function withBlue() {
  const p = pair();
  create(p.a, 'blue', { multicast: true });
  const ep = p.a.commitEndpoint(p.a.prepareEndpoint({ network: 'blue', netns: 'c1' }));
  p.sync();
  return { ...p, ep };
}

describe('the multicast network setting', () => {
  it('is off by default, on with the default rate, or with a rate given (0: no limit)', () => {
    const s = new OverlayStore('a', '198.18.0.1');
    expect(create(s, 'plain').multicast).toBeUndefined();
    expect(toNetworkRecord(s.network('plain'))).toMatchObject({ multicast: false });
    expect(toNetworkRecord(s.network('plain'))).not.toHaveProperty('multicastRate');
    expect(create(s, 'm1', { multicast: true }, '198.19.2.0/24').multicast).toEqual({ rate: DEFAULT_MULTICAST_RATE });
    expect(toNetworkRecord(create(s, 'm2', { multicast: true, multicastRate: 0 }, '198.19.3.0/24'))).toMatchObject({ multicast: true, multicastRate: 0 });
  });

  it('refuses a rate without --multicast and a rate out of range, with clear errors', () => {
    const s = new OverlayStore('a', '198.18.0.1');
    const req = (extra: object) => () => s.prepareNetwork({ name: 'x', subnets: ['198.19.9.0/24'], mtu: 1450, ...extra });
    expect(req({ multicastRate: 10 })).toThrow('a multicast rate applies to --multicast networks only');
    expect(req({ multicast: true, multicastRate: -1 })).toThrow(/invalid multicast rate -1/);
    expect(req({ multicast: true, multicastRate: 1.5 })).toThrow(/invalid multicast rate 1.5/);
  });

  it('travels by gossip; a malformed setting is refused as malformed', () => {
    const { a, b, sync } = pair();
    create(a, 'blue', { multicast: true, multicastRate: 500 });
    sync();
    expect(b.network('blue').multicast).toEqual({ rate: 500 });
    const bad = { ...a.network('blue'), name: 'red', vni: 9, subnets: ['198.19.7.0/24'], ltime: 99, multicast: { rate: 'x' } };
    const before = b.rejected.malformed;
    b.merge([bad, { ...bad, name: 'red2', multicast: true }, { ...bad, name: 'red3', multicast: { rate: 1, more: 1 } }]);
    expect(b.rejected.malformed).toBe(before + 3);
    expect(b.findNetwork('red')).toBeUndefined();
  });
});

describe('group entries', () => {
  it('spread, change with their endpoints, and leave a tombstone when the group is left', () => {
    const { a, b, sync, ep } = withBlue();
    const g = a.commitGroup('blue', '239.1.2.3', [ep.id])!;
    expect(g).toMatchObject({ kind: 'group', network: 'blue', group: '239.1.2.3', vtep: '198.18.0.1', endpoints: [ep.id], owner: 'a', deleted: false });
    // The same members again writes nothing new.
    expect(a.commitGroup('blue', '239.1.2.3', [ep.id])).toBe(g);
    sync();
    expect(b.groups('blue').map((x) => [x.group, x.owner, x.endpoints])).toEqual([['239.1.2.3', 'a', [ep.id]]]);
    a.commitGroup('blue', '239.1.2.3', []);
    sync();
    expect(b.groups('blue')).toEqual([]);
    const tomb = b.allEntries().find((e) => e.kind === 'group') as GroupEntry;
    expect(tomb).toMatchObject({ deleted: true, endpoints: [] });
    // A stale copy cannot bring it back.
    b.merge([g]);
    expect(b.groups('blue')).toEqual([]);
  });

  it('are hidden while the owner is dead, shown when it is back, forgotten when it leaves', () => {
    const { a, b, sync, ep } = withBlue();
    a.commitGroup('blue', 'ff0e::1:3', [ep.id]);
    sync();
    b.setMember('a', 'dead', '198.18.0.1');
    expect(b.groups('blue')).toEqual([]);
    b.setMember('a', 'alive', '198.18.0.1');
    expect(b.groups('blue')).toHaveLength(1);
    b.setMember('a', 'left', '198.18.0.1');
    expect(b.allEntries().filter((e) => e.kind === 'group')).toEqual([]);
  });

  it('are tombstoned with the network by the host that removes it', () => {
    const { a, ep } = withBlue();
    a.commitGroup('blue', '239.1.2.3', [ep.id]);
    a.commitNetworkRemoval('blue');
    expect(a.localGroups()).toEqual([]);
    expect(a.allEntries().filter((e) => e.kind === 'group' && e.deleted)).toHaveLength(1);
  });

  it('are re-asserted by their owner against a stale or forged newer version', () => {
    const { a, ep } = withBlue();
    const g = a.commitGroup('blue', '239.1.2.3', [ep.id])!;
    a.merge([{ ...g, endpoints: [], deleted: true, ltime: g.ltime + 50 }]);
    const now = a.localGroups('blue');
    expect(now.map((x) => [x.endpoints, x.deleted])).toEqual([[[ep.id], false]]);
    expect(now[0].ltime).toBeGreaterThan(g.ltime + 50);
  });

  it('are refused by reason: not a group, link-local, solicited-node, unknown or non-multicast network, wrong VTEP, malformed', () => {
    const { a, b, sync, ep } = withBlue();
    create(a, 'plain', {}, '198.19.5.0/24');
    sync();
    const good = a.commitGroup('blue', '239.1.2.3', [ep.id])!;
    const cases: [string, object][] = [
      ['bad_ip', { group: '198.19.1.9' }],
      ['bad_ip', { group: '224.0.0.251' }],
      ['bad_ip', { group: 'ff02::fb' }],
      ['bad_ip', { group: 'ff02::1:ff00:1' }],
      ['bad_ip', { group: 'FF0E::1' }], // not canonical
      ['bad_ip', { vtep: 'nowhere' }],
      ['unknown_network', { network: 'nope' }],
      ['unknown_network', { network: 'plain', networkId: a.network('plain').id }],
      ['unknown_network', { networkId: 'f'.repeat(24) }],
      ['vtep_mismatch', { vtep: '198.18.0.9' }],
      ['malformed', { endpoints: 'x' }],
      ['malformed', { endpoints: Array.from({ length: 257 }, (_, i) => `e${i}`) }],
      ['malformed', { group: 7 }],
    ];
    for (const [reason, change] of cases) {
      const before = b.rejected[reason as keyof typeof b.rejected];
      b.merge([{ ...good, ...change, ltime: good.ltime + 10 }]);
      expect([reason, change, b.rejected[reason as keyof typeof b.rejected]]).toEqual([reason, change, before + 1]);
    }
    expect(b.groups()).toEqual([]);
  });
});

describe("static peers' groups", () => {
  it('are kept canonical, sorted and once; refused on a plain network, for non-groups and link-local groups', () => {
    const { a } = withBlue();
    create(a, 'plain', {}, '198.19.5.0/24');
    const peer = { network: 'blue', ip: '198.19.1.200', mac: '02:00:00:00:00:c8', vtep: '198.18.0.50' };
    expect(a.preparePeer({ ...peer, groups: ['239.9.9.9', 'FF0E::1', '239.1.1.1', '239.9.9.9'] }).groups).toEqual(['239.1.1.1', '239.9.9.9', 'ff0e::1']);
    expect(a.preparePeer(peer)).not.toHaveProperty('groups');
    expect(() => a.preparePeer({ ...peer, network: 'plain', ip: '198.19.5.9', groups: ['239.1.1.1'] })).toThrow('network plain was not created with --multicast: its peers get no groups');
    expect(() => a.preparePeer({ ...peer, groups: ['198.19.1.1'] })).toThrow('--group 198.19.1.1 is not a multicast group address');
    expect(() => a.preparePeer({ ...peer, groups: ['224.0.0.251'] })).toThrow('--group 224.0.0.251 is a link-local group: every VTEP of the network gets it anyway');
    expect(() => a.preparePeer({ ...peer, groups: ['nonsense'] })).toThrow('--group nonsense is not a multicast group address');
  });
});

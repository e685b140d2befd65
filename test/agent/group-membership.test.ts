/**
 * This host's group memberships (src/agent/group-membership.ts) over a real
 * store and a recording data path, on a fake clock: reports of local
 * endpoints become this host's group entries (one write per change), unknown
 * MACs and malformed frames are counted and ignored, the querier injects its
 * queries, and a membership ends by leave, expiry, detach or network down.
 * Also the group table the reconciler computes from the entries (group-table.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OverlayStore } from '../../src/cluster/store.js';
import type { GroupEntry, NetworkEntry } from '../../src/cluster/entries.js';
import { EventLog } from '../../src/agent/events.js';
import { GroupMembership, querierMac } from '../../src/agent/group-membership.js';
import { applyGroupTable, groupTable } from '../../src/agent/group-table.js';
import type { AgentContext, UpNetwork } from '../../src/agent/context.js';
import { findMembershipMessage } from '../../src/dataplane/multicast/membership-frames.js';
import { igmpJoin, mldJoin } from '../../src/testkit/group-frames.js';
import { encodeEthernet, encodeIgmpReport, encodeIPv4, ETHERTYPE, formatMac, groupMac, IPV4_ROUTER_ALERT, parseIp, parseMac } from '../../src/wire/index.js';

const TIMINGS = { queryIntervalMs: 4000, queryResponseMs: 1000 };
/** 2 × 4 s + 1 s. */
const MEMBERSHIP_MS = 9000;
const WRITE_MS = 100;

/** `frame` as sent by `mac`. */
const from = (mac: string, frame: Buffer): Buffer => {
  const copy = Buffer.from(frame);
  copy.set(parseMac(mac), 6);
  return copy;
};

/** An IGMPv3 TO_INCLUDE{} of `group`: leaving it. */
function igmpLeave(group: string): Buffer {
  const igmp = encodeIgmpReport(3, [{ type: 'to_include', group, sources: [] }]);
  const ip = encodeIPv4({ tos: 0xc0, ttl: 1, protocol: 2, src: parseIp('198.19.1.1'), dst: parseIp('224.0.0.22'), options: IPV4_ROUTER_ALERT }, igmp);
  return encodeEthernet({ dst: groupMac('224.0.0.22'), src: parseMac('02:00:00:00:00:01'), etherType: ETHERTYPE.IPV4 }, ip);
}

function setup() {
  const store = new OverlayStore('a', '198.18.0.1');
  const net = store.commitNetwork(store.prepareNetwork({ name: 'blue', subnets: ['198.19.1.0/24', '2001:db8:1::/64'], mtu: 1450, multicast: true }));
  const ep = store.commitEndpoint(store.prepareEndpoint({ network: 'blue', netns: 'c1' }));
  const injected: { vni: number; frame: Buffer }[] = [];
  let listener: ((vni: number, frame: Buffer) => void) | null = null;
  const datapath = { setMembershipListener: (l: typeof listener) => (listener = l), injectFrame: (vni: number, frame: Buffer) => injected.push({ vni, frame }) > 0 };
  const events = new EventLog();
  const ctx = { config: { name: 'a' }, store, datapath, events, up: new Map() } as unknown as AgentContext;
  const up: UpNetwork = { vni: net.vni, id: net.id, fdb: new Map(), neigh: new Map(), groups: new Map() };
  const gm = new GroupMembership(ctx, TIMINGS);
  gm.start();
  gm.up(net, up);
  const hear = (frame: Buffer): void => {
    listener!(net.vni, frame);
    vi.advanceTimersByTime(WRITE_MS);
  };
  const groups = () => store.localGroups('blue').map((g) => [g.group, g.endpoints]);
  return { store, net, ep, up, gm, ctx, injected, events, hear, groups };
}

describe('GroupMembership', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("writes this host's group entries from its endpoints' reports, one entry per group, and emits joined/left", () => {
    const { ep, hear, groups, events, gm, store } = setup();
    hear(from(ep.mac, igmpJoin('239.1.2.3')));
    hear(from(ep.mac, mldJoin('ff0e::123')));
    const written = store.localGroups('blue');
    hear(from(ep.mac, igmpJoin('239.1.2.3', 2))); // a refresh writes nothing
    expect(groups()).toEqual([['239.1.2.3', [ep.id]], ['ff0e::123', [ep.id]]]);
    expect(store.localGroups('blue')).toEqual(written);
    hear(from(ep.mac, igmpLeave('239.1.2.3')));
    expect(groups()).toEqual([['ff0e::123', [ep.id]]]);
    expect(events.recent({ type: 'group' }).map((e) => `${e.action} ${e.group}`)).toEqual(['joined 239.1.2.3', 'joined ff0e::123', 'left 239.1.2.3']);
    expect(gm.stats).toMatchObject({ reports: 4, unknownMac: 0, malformed: 0 });
  });

  it('counts and ignores reports from unknown MACs and malformed frames and records; link-local groups are not entries', () => {
    const { ep, hear, groups, gm } = setup();
    hear(from('02:42:c6:13:01:99', igmpJoin('239.1.2.3')));
    const broken = from(ep.mac, igmpJoin('239.1.2.3'));
    hear(broken.subarray(0, broken.length - 6));
    hear(from(ep.mac, igmpJoin('224.0.0.251')));
    hear(from(ep.mac, igmpJoin('198.19.1.7'))); // a record for no group address: counted, never thrown into the data path
    expect(groups()).toEqual([]);
    expect(gm.stats).toMatchObject({ unknownMac: 1, malformed: 2, reports: 1 });
  });

  it('sends IGMPv3 and MLDv2 general queries from its querier MAC, at start and then on the schedule', () => {
    const { injected, net, gm } = setup();
    const first = injected.map(({ frame }) => findMembershipMessage(frame)!);
    expect(first.map((m) => [m.family, m.message.kind, m.mac])).toEqual([
      [4, 'query', formatMac(querierMac('a', net.vni))],
      [6, 'query', formatMac(querierMac('a', net.vni))],
    ]);
    expect(first[0].message).toMatchObject({ version: 3, group: '0.0.0.0', maxRespMs: 1000 });
    vi.advanceTimersByTime(TIMINGS.queryIntervalMs * 3);
    expect(injected.length).toBeGreaterThanOrEqual(6);
    expect(gm.stats.queriesSent).toBe(injected.length);
    expect(querierMac('a', net.vni)[0] & 0x03).toBe(0x02); // locally administered, unicast
  });

  it('ends a membership not refreshed within the interval, and at once when the endpoint detaches or the network goes down', () => {
    const { ep, hear, groups, store, gm, up } = setup();
    hear(from(ep.mac, igmpJoin('239.1.2.3')));
    vi.advanceTimersByTime(MEMBERSHIP_MS + 1500);
    expect(groups()).toEqual([]);
    hear(from(ep.mac, igmpJoin('239.1.2.3')));
    const other = store.commitEndpoint(store.prepareEndpoint({ network: 'blue', netns: 'c2' }));
    hear(from(other.mac, igmpJoin('239.1.2.3')));
    expect(groups()).toEqual([['239.1.2.3', [ep.id, other.id].sort()]]);
    store.commitEndpointRemoval(ep.id);
    vi.advanceTimersByTime(WRITE_MS);
    expect(groups()).toEqual([['239.1.2.3', [other.id]]]);
    gm.down('blue', up);
    vi.advanceTimersByTime(WRITE_MS);
    expect(groups()).toEqual([]);
    expect(store.allEntries().filter((e) => e.kind === 'group' && e.deleted)).toHaveLength(1);
  });

  it('after a restart keeps the memberships of the state file until they expire, without writing them again', () => {
    const first = setup();
    first.hear(from(first.ep.mac, igmpJoin('239.1.2.3')));
    first.gm.stop();
    const before = first.store.localGroups('blue')[0];
    const again = new GroupMembership(first.ctx, TIMINGS);
    again.start();
    again.up(first.net, first.up);
    vi.advanceTimersByTime(WRITE_MS);
    expect(first.store.localGroups('blue')).toEqual([before]);
    vi.advanceTimersByTime(MEMBERSHIP_MS + 1500);
    expect(first.store.localGroups('blue')).toEqual([]);
  });
});

describe('groupTable', () => {
  const net = { name: 'blue', multicast: { rate: 10 } } as NetworkEntry;
  const entry = (group: string, owner: string, vtep: string, extra: Partial<GroupEntry> = {}): GroupEntry =>
    ({ kind: 'group', network: 'blue', networkId: 'x', group, vtep, endpoints: ['e'], owner, ltime: 1, created: 1, deleted: false, ...extra }) as GroupEntry;

  it("maps each group MAC to the sorted VTEPs of other hosts' members and static peers; never this host's, other networks' or tombstones", () => {
    const table = groupTable(
      net,
      [
        entry('239.1.2.3', 'c', '198.18.0.3'),
        entry('239.129.2.3', 'b', '198.18.0.2'), // the same MAC as 239.1.2.3
        entry('239.1.2.3', 'a', '198.18.0.1'), // this host
        entry('ff0e::1', 'b', '198.18.0.2', { deleted: true }),
        entry('239.7.7.7', 'b', '198.18.0.2', { network: 'red' }),
      ],
      [
        { network: 'blue', ip: '198.19.1.200', mac: '02:00:00:00:00:c8', vtep: '198.18.0.50', groups: ['ff0e::1', '239.1.2.3'] },
        { network: 'red', ip: '198.19.2.200', mac: '02:00:00:00:00:c9', vtep: '198.18.0.51', groups: ['239.7.7.7'] },
      ],
      'a',
    );
    expect([...table]).toEqual([
      ['01:00:5e:01:02:03', ['198.18.0.2', '198.18.0.3', '198.18.0.50']],
      ['33:33:00:00:00:01', ['198.18.0.50']],
    ]);
  });

  it('applies only the difference: removed MACs get an empty list, unchanged ones no call', () => {
    const calls: [string, string[]][] = [];
    const have = new Map([['01:00:5e:01:02:03', ['198.18.0.2']], ['01:00:5e:09:09:09', ['198.18.0.3']]]);
    const want = new Map([['01:00:5e:01:02:03', ['198.18.0.2']], ['33:33:00:00:00:01', ['198.18.0.50']]]);
    applyGroupTable(have, want, (mac, vteps) => calls.push([mac, vteps]));
    expect(calls).toEqual([['01:00:5e:09:09:09', []], ['33:33:00:00:00:01', ['198.18.0.50']]]);
  });
});

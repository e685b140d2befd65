/**
 * GroupSnooping's rules with a controlled clock: host-level joins and leaves,
 * fast leave per endpoint, expiry, groups that are not snooped, and the
 * querier's schedule (startup queries, silence while another querier speaks).
 */
import { describe, expect, it } from 'vitest';
import {
  GroupSnooping,
  MEMBERSHIP_INTERVAL_MS,
  OTHER_QUERIER_PRESENT_MS,
  QUERY_INTERVAL_MS,
  STARTUP_QUERY_COUNT,
  STARTUP_QUERY_INTERVAL_MS,
} from '../../src/dataplane/multicast/snooping.js';
import { isSnoopedGroup } from '../../src/wire/index.js';
import type { MembershipMessage } from '../../src/wire/index.js';

const A = '02:42:c6:13:05:02';
const B = '02:42:c6:13:05:03';
const join = (group: string): MembershipMessage => ({ kind: 'report', version: 2, records: [{ type: 'join', group, sources: [] }] });
const leave = (group: string): MembershipMessage => ({ kind: 'report', version: 2, records: [{ type: 'leave', group, sources: [] }] });

function setup() {
  const clock = { t: 1_000_000 };
  const changes: string[] = [];
  const s = new GroupSnooping((vni, group, joined) => changes.push(`${vni} ${joined ? '+' : '-'}${group}`), () => clock.t);
  s.addNetwork(7);
  return { s, clock, changes };
}

describe('GroupSnooping', () => {
  it('joins a group on the host at its first listener and leaves it after its last', () => {
    const { s, changes } = setup();
    s.heard(7, A, join('239.1.1.1'), 4);
    s.heard(7, B, join('239.1.1.1'), 4);
    s.heard(7, A, leave('239.1.1.1'), 4); // fast leave: A at once, B still listens
    expect(s.groups()).toEqual([{ vni: 7, group: '239.1.1.1', members: [B] }]);
    s.forgetEndpoint(7, B);
    expect(s.groups()).toEqual([]);
    expect(changes).toEqual(['7 +239.1.1.1', '7 -239.1.1.1']);
  });

  it('keys groups canonically and ignores link-local and solicited-node groups and unknown networks', () => {
    const { s } = setup();
    s.heard(7, A, join('FF0E:0:0::42'), 6);
    s.heard(7, A, join('224.0.0.251'), 4);
    s.heard(7, A, join('ff02::1:ff13:502'), 6);
    s.heard(8, A, join('239.2.2.2'), 4);
    expect(s.groups().map((g) => g.group)).toEqual(['ff0e::42']);
    expect(['239.1.1.1', 'ff05::1:3', '224.0.0.1', 'ff02::fb', 'ff02::1:ff00:1'].map(isSnoopedGroup)).toEqual([true, true, false, false, false]);
  });

  it('expires memberships not refreshed, and a refresh keeps one', () => {
    const { s, clock } = setup();
    s.heard(7, A, join('239.1.1.1'), 4);
    s.heard(7, B, join('239.1.1.2'), 4);
    clock.t += MEMBERSHIP_INTERVAL_MS - 1;
    s.heard(7, A, join('239.1.1.1'), 4);
    clock.t += 2;
    s.expire();
    expect(s.groups()).toEqual([{ vni: 7, group: '239.1.1.1', members: [A] }]);
  });

  it('sends startup queries, then one per query interval, and is silent while another querier speaks', () => {
    const { s, clock } = setup();
    const sent: number[] = [];
    const tick = (ms: number) => {
      clock.t += ms;
      sent.push(...s.queriesDue(7).filter((f) => f === 4));
    };
    tick(0);
    for (let i = 0; i < STARTUP_QUERY_COUNT; i++) tick(STARTUP_QUERY_INTERVAL_MS);
    expect(sent).toHaveLength(STARTUP_QUERY_COUNT + 1); // the first, and then the startup ones left
    tick(QUERY_INTERVAL_MS - 1);
    expect(sent).toHaveLength(STARTUP_QUERY_COUNT + 1);
    tick(1);
    expect(sent).toHaveLength(STARTUP_QUERY_COUNT + 2);
    s.heard(7, B, { kind: 'query', version: 3, group: '0.0.0.0', maxRespMs: 10_000, sources: [] }, 4);
    tick(QUERY_INTERVAL_MS);
    expect(sent).toHaveLength(STARTUP_QUERY_COUNT + 2); // silenced
    expect(s.queriesDue(7)).toEqual([]); // IPv6's is not due yet either
    tick(OTHER_QUERIER_PRESENT_MS);
    expect(sent).toHaveLength(STARTUP_QUERY_COUNT + 3);
  });

  it('leaves every group of a removed network', () => {
    const { s, changes } = setup();
    s.heard(7, A, join('239.1.1.1'), 4);
    s.removeNetwork(7);
    expect(changes).toEqual(['7 +239.1.1.1', '7 -239.1.1.1']);
    expect(s.queriesDue(7)).toEqual([]);
  });

  it('takes shorter timings: memberships last 2 intervals + the response time, queries follow the interval', () => {
    const clock = { t: 0 };
    const s = new GroupSnooping(() => undefined, () => clock.t, { queryIntervalMs: 2000, queryResponseMs: 1000 });
    s.addNetwork(7);
    expect(s.queriesDue(7)).toEqual([4, 6]);
    s.heard(7, A, join('239.1.1.1'), 4);
    clock.t = 500; // startup queries: a quarter of the interval apart
    expect(s.queriesDue(7)).toEqual([4, 6]);
    clock.t = 4999;
    s.expire();
    expect(s.groups()).toHaveLength(1);
    clock.t = 5000;
    s.expire();
    expect(s.groups()).toEqual([]);
  });
});

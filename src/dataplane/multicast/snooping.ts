/**
 * IGMP / MLD snooping for one host (RFC 4541): which of this host's endpoints
 * listen to which groups of each network, learnt from their reports, and
 * whether the agent must be the querier of a network.
 *
 * Each endpoint has a port of its own (its veth on the network's bridge), so
 * a leave takes effect at once for that endpoint — the bridge's fast leave —
 * without the group-specific queries a shared segment needs. A membership
 * not refreshed by a report expires after the group membership interval.
 *
 * What the rest of the agent needs is the host's view: a group is joined on
 * this host while at least one local endpoint listens. `onChange` says when
 * that flips, which is what gossip carries to the other hosts.
 */
import { canonicalGroup, isSnoopedGroup, recordListens, type MembershipMessage } from '../../wire/index.js';

/** RFC 3376 §8 defaults: robustness 2, query interval 125 s, query response interval 10 s. */
export const QUERY_INTERVAL_MS = 125_000;
export const QUERY_RESPONSE_MS = 10_000;
const ROBUSTNESS = 2;
/** How long a membership lasts without a report (RFC 3376 §8.4: 260 s). */
export const MEMBERSHIP_INTERVAL_MS = ROBUSTNESS * QUERY_INTERVAL_MS + QUERY_RESPONSE_MS;
/** How long another querier's query silences ours (RFC 3376 §8.5: 255 s). */
export const OTHER_QUERIER_PRESENT_MS = ROBUSTNESS * QUERY_INTERVAL_MS + QUERY_RESPONSE_MS / 2;
/** Queries sent faster at first so memberships are known soon after start (RFC 3376 §8.6, §8.7). */
export const STARTUP_QUERY_INTERVAL_MS = QUERY_INTERVAL_MS / 4;
export const STARTUP_QUERY_COUNT = ROBUSTNESS;

/** One group of one network on this host: the local endpoints (MACs) listening. */
export interface LocalGroup {
  vni: number;
  group: string;
  members: string[];
}

export type GroupChange = (vni: number, group: string, joined: boolean) => void;

/**
 * The querier's timers; the defaults are RFC 3376's. The others follow from
 * them as in RFC 3376 §8 (membership: 2 × interval + response, other querier
 * present: 2 × interval + response / 2, startup queries: interval / 4).
 * Shorter ones are for tests and for networks whose listeners come and go fast.
 */
export interface SnoopingTimings {
  queryIntervalMs: number;
  queryResponseMs: number;
}

export const DEFAULT_TIMINGS: SnoopingTimings = { queryIntervalMs: QUERY_INTERVAL_MS, queryResponseMs: QUERY_RESPONSE_MS };

/** The intervals that follow from `t` (RFC 3376 §8). */
function derived(t: SnoopingTimings) {
  return {
    query: t.queryIntervalMs,
    startup: t.queryIntervalMs / 4,
    membership: ROBUSTNESS * t.queryIntervalMs + t.queryResponseMs,
    otherQuerier: ROBUSTNESS * t.queryIntervalMs + t.queryResponseMs / 2,
  };
}

interface NetworkState {
  /** group → endpoint MAC → expiry (ms since the epoch). */
  groups: Map<string, Map<string, number>>;
  /** Per family: until when another querier was heard, and how many startup queries are still due. */
  otherQuerierUntil: { 4: number; 6: number };
  startupLeft: { 4: number; 6: number };
  nextQueryAt: { 4: number; 6: number };
}

export class GroupSnooping {
  private readonly networks = new Map<number, NetworkState>();
  private readonly ms: ReturnType<typeof derived>;

  constructor(
    private readonly onChange: GroupChange,
    private readonly now: () => number = Date.now,
    timings: SnoopingTimings = DEFAULT_TIMINGS,
  ) {
    this.ms = derived(timings);
  }

  /** Starts snooping a network (idempotent). Its queries are due at once. */
  addNetwork(vni: number): void {
    if (this.networks.has(vni)) return;
    const t = this.now();
    this.networks.set(vni, {
      groups: new Map(),
      otherQuerierUntil: { 4: 0, 6: 0 },
      startupLeft: { 4: STARTUP_QUERY_COUNT, 6: STARTUP_QUERY_COUNT },
      nextQueryAt: { 4: t, 6: t },
    });
  }

  /** Stops snooping a network: every group of it is left. */
  removeNetwork(vni: number): void {
    const net = this.networks.get(vni);
    if (!net) return;
    this.networks.delete(vni);
    for (const group of net.groups.keys()) this.onChange(vni, group, false);
  }

  /**
   * Applies a membership message `mac` sent on network `vni`. Reports change
   * memberships; a query from elsewhere means another querier is present.
   * Only snooped groups are tracked (see {@link isSnoopedGroup}).
   */
  heard(vni: number, mac: string, message: MembershipMessage, family: 4 | 6): void {
    const net = this.networks.get(vni);
    if (!net) return;
    if (message.kind === 'query') {
      net.otherQuerierUntil[family] = this.now() + this.ms.otherQuerier;
      return;
    }
    for (const record of message.records) {
      const group = canonicalGroup(record.group);
      if (!isSnoopedGroup(group)) continue;
      const listens = recordListens(record);
      if (listens === true) this.join(vni, net, group, mac);
      else if (listens === false) this.leave(vni, net, group, mac);
    }
  }

  /** An endpoint went away: it listens to nothing any more. */
  forgetEndpoint(vni: number, mac: string): void {
    const net = this.networks.get(vni);
    if (!net) return;
    for (const group of [...net.groups.keys()]) this.leave(vni, net, group, mac);
  }

  /** Drops memberships not refreshed within the membership interval. */
  expire(): void {
    const t = this.now();
    for (const [vni, net] of this.networks) {
      for (const [group, members] of [...net.groups]) {
        for (const [mac, until] of [...members]) if (until <= t) this.leave(vni, net, group, mac);
      }
    }
  }

  /**
   * The families whose general query is due now on network `vni` (this host
   * queries unless another querier was heard lately); marks them sent.
   */
  queriesDue(vni: number): (4 | 6)[] {
    const net = this.networks.get(vni);
    if (!net) return [];
    const t = this.now();
    const due: (4 | 6)[] = [];
    for (const family of [4, 6] as const) {
      if (t < net.nextQueryAt[family]) continue;
      const silenced = t < net.otherQuerierUntil[family];
      const startup = net.startupLeft[family] > 0;
      if (!silenced) due.push(family);
      if (startup && !silenced) net.startupLeft[family]--;
      net.nextQueryAt[family] = t + (startup ? this.ms.startup : this.ms.query);
    }
    return due;
  }

  /** The groups joined on this host, by network (all networks when `vni` is absent), sorted. */
  groups(vni?: number): LocalGroup[] {
    const out: LocalGroup[] = [];
    for (const [v, net] of this.networks) {
      if (vni !== undefined && v !== vni) continue;
      for (const [group, members] of net.groups) out.push({ vni: v, group, members: [...members.keys()].sort() });
    }
    return out.sort((a, b) => a.vni - b.vni || a.group.localeCompare(b.group));
  }

  private join(vni: number, net: NetworkState, group: string, mac: string): void {
    let members = net.groups.get(group);
    const first = !members;
    if (!members) net.groups.set(group, (members = new Map()));
    members.set(mac, this.now() + this.ms.membership);
    if (first) this.onChange(vni, group, true);
  }

  private leave(vni: number, net: NetworkState, group: string, mac: string): void {
    const members = net.groups.get(group);
    if (!members?.delete(mac) || members.size > 0) return;
    net.groups.delete(group);
    this.onChange(vni, group, false);
  }
}

/**
 * This host's multicast group memberships (docs/multicast.md "Snooping"):
 *
 *   TAP ─► data path (rule 1: IGMP / MLD are not sent) ─► membership listener
 *        ─► findMembershipMessage ─► the sender's MAC names a local endpoint
 *        ─► GroupSnooping of the network ─► (debounced) this host's group
 *           entries: commit / tombstone ─► gossip ─► the other hosts' group tables
 *   querier timer ─► general queries (IGMPv3, MLDv2) ─► injectFrame ─► TAP ─► endpoints
 *
 * Only networks created with `--multicast` that are up on this host are
 * snooped. The entries follow the snooping table: an endpoint that detaches
 * leaves its groups at once, a network brought down leaves all of its, and
 * after a restart the memberships in the state file hold until reports
 * refresh them or they expire.
 */
import { createHash } from 'node:crypto';
import type { NetworkEntry } from '../cluster/entries.js';
import { GroupSnooping, type SnoopingTimings } from '../dataplane/multicast/snooping.js';
import { buildGeneralQuery, findMembershipMessage, querierAddress, type QuerierAddress } from '../dataplane/multicast/membership-frames.js';
import type { AgentContext, UpNetwork } from './context.js';
import type { NetworkHooks } from './reconcile.js';

/** How long changes are gathered before this host's group entries are written (one write per change burst). */
const WRITE_DELAY_MS = 100;
/** How often expiry and due queries are looked at. */
const TICK_MS = 1000;

/** What the snooping saw (`stats` → `snooping`). */
export interface SnoopingStats {
  /** Reports applied (IGMP v1–v3, MLD v1–v2). */
  reports: number;
  /** Queries of another querier heard (they silence ours for a while). */
  queries: number;
  /** General queries this host sent as querier. */
  queriesSent: number;
  /** IGMP / MLD frames from a MAC that is no endpoint of the network here: ignored. */
  unknownMac: number;
  /** IGMP / MLD frames that did not decode: ignored. */
  malformed: number;
}

/** A group as this host's snooping holds it: the network's name, the group, the ids of the local endpoints that listen. */
interface HeldGroup {
  network: string;
  /** Unknown once the network is gone. */
  vni?: number;
  group: string;
  endpoints: string[];
}

export class GroupMembership implements NetworkHooks {
  readonly stats: SnoopingStats = { reports: 0, queries: 0, queriesSent: 0, unknownMac: 0, malformed: 0 };
  private readonly snooping: GroupSnooping;
  /** Snooped networks: vni → name and querier addresses. */
  private readonly snooped = new Map<number, { name: string; querier: QuerierAddress }>();
  private tickTimer?: NodeJS.Timeout;
  private writeTimer?: NodeJS.Timeout;

  constructor(
    private readonly ctx: AgentContext,
    private readonly timings: SnoopingTimings,
  ) {
    this.snooping = new GroupSnooping(() => this.writeSoon(), Date.now, timings);
  }

  /** Listens to the data path's membership frames and starts the querier. */
  start(): void {
    this.ctx.datapath.setMembershipListener((vni, frame) => this.heard(vni, frame));
    this.ctx.store.on('change', () => this.forgetDetached());
    this.tickTimer = setInterval(() => this.tick(), Math.min(TICK_MS, this.timings.queryIntervalMs / 4)).unref();
  }

  stop(): void {
    clearInterval(this.tickTimer);
    clearTimeout(this.writeTimer);
    this.ctx.datapath?.setMembershipListener(null);
  }

  // ---- NetworkHooks (reconcile.ts) -----------------------------------------

  /** A network came up here: snoop it when it has multicast on, with what the state file says this host had joined. */
  up(net: NetworkEntry, up: UpNetwork): void {
    if (!net.multicast || this.snooped.has(up.vni)) return;
    this.snooped.set(up.vni, { name: net.name, querier: querierAddress(querierMac(this.ctx.config.name, up.vni)) });
    this.snooping.addNetwork(up.vni);
    const macs = new Map(this.ctx.store.localEndpoints(net.name).map((e) => [e.id, e.mac]));
    for (const g of this.ctx.store.localGroups(net.name)) {
      for (const id of g.endpoints) {
        const mac = macs.get(id);
        if (mac) this.snooping.heard(up.vni, mac, { kind: 'report', version: 3, records: [{ type: 'is_exclude', group: g.group, sources: [] }] }, g.group.includes(':') ? 6 : 4);
      }
    }
    this.tick();
  }

  /** A network went down here: every group of it is left. */
  down(_name: string, up: UpNetwork): void {
    if (!this.snooped.delete(up.vni)) return;
    this.snooping.removeNetwork(up.vni);
    this.writeSoon();
  }

  // ---- frames and timers ----------------------------------------------------

  /** A frame from the data path's punt: never throws (bad input is counted). */
  private heard(vni: number, frame: Buffer): void {
    const net = this.snooped.get(vni);
    if (!net) return;
    let found: ReturnType<typeof findMembershipMessage>;
    try {
      found = findMembershipMessage(frame);
      if (!found) return;
      if (found.message.kind === 'report' && !this.ctx.store.localEndpoints(net.name).some((e) => e.mac === found!.mac)) {
        this.stats.unknownMac++;
        return;
      }
      this.snooping.heard(vni, found.mac, found.message, found.family); // throws for a record whose group is no group address
    } catch {
      this.stats.malformed++;
      return;
    }
    if (found.message.kind === 'query') this.stats.queries++;
    else this.stats.reports++;
    this.writeSoon();
  }

  /** Expires memberships and sends the general queries that are due. */
  private tick(): void {
    this.snooping.expire();
    for (const [vni, net] of this.snooped) {
      for (const family of this.snooping.queriesDue(vni)) {
        const query = buildGeneralQuery(family, net.querier, { maxRespMs: this.timings.queryResponseMs, intervalS: Math.max(1, Math.round(this.timings.queryIntervalMs / 1000)) });
        if (this.ctx.datapath.injectFrame(vni, query)) this.stats.queriesSent++;
      }
    }
  }

  /** Endpoints that went away listen to nothing any more. */
  private forgetDetached(): void {
    for (const [vni, net] of this.snooped) {
      const macs = new Set(this.ctx.store.localEndpoints(net.name).map((e) => e.mac));
      const gone = new Set(this.snooping.groups(vni).flatMap((g) => g.members.filter((mac) => !macs.has(mac))));
      for (const mac of gone) this.snooping.forgetEndpoint(vni, mac);
      if (gone.size > 0) this.writeSoon();
    }
  }

  // ---- this host's group entries --------------------------------------------

  private writeSoon(): void {
    this.writeTimer ??= setTimeout(() => {
      this.writeTimer = undefined;
      this.write();
    }, WRITE_DELAY_MS);
  }

  /** Brings this host's group entries to what the snooping holds; emits a `group` event per endpoint that joined or left. */
  private write(): void {
    try {
      this.writeEntries();
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message }, 'multicast group entries not written');
    }
  }

  private writeEntries(): void {
    const { store } = this.ctx;
    const held = new Map(this.held().map((g) => [`${g.network}/${g.group}`, g]));
    for (const entry of store.localGroups()) {
      const now = held.get(`${entry.network}/${entry.group}`);
      if (!now) this.commit({ network: entry.network, vni: store.findNetwork(entry.network)?.vni, group: entry.group, endpoints: [] }, entry.endpoints);
    }
    for (const g of held.values()) {
      const before = store.localGroups(g.network).find((e) => e.group === g.group)?.endpoints ?? [];
      this.commit(g, before);
    }
  }

  private commit(g: HeldGroup, before: string[]): void {
    if (before.join() === g.endpoints.join()) return;
    this.ctx.store.commitGroup(g.network, g.group, g.endpoints);
    const event = (action: 'joined' | 'left', endpoint: string): void => {
      const summary = `endpoint ${endpoint.slice(0, 12)} of ${g.network} on ${this.ctx.config.name} ${action} group ${g.group}`;
      this.ctx.events.emit({ type: 'group', network: g.network, ...(g.vni !== undefined && { vni: g.vni }), action, group: g.group, node: this.ctx.config.name, endpoint, summary });
    };
    for (const id of g.endpoints) if (!before.includes(id)) event('joined', id);
    for (const id of before) if (!g.endpoints.includes(id)) event('left', id);
  }

  /** The snooping table with endpoint ids for MACs. */
  private held(): HeldGroup[] {
    const out: HeldGroup[] = [];
    for (const [vni, net] of this.snooped) {
      if (this.ctx.store.findNetwork(net.name) === undefined) continue; // removed; the reconciler brings it down
      const ids = new Map(this.ctx.store.localEndpoints(net.name).map((e) => [e.mac, e.id]));
      for (const g of this.snooping.groups(vni)) {
        const endpoints = g.members.flatMap((mac) => ids.get(mac) ?? []).sort();
        if (endpoints.length > 0) out.push({ network: net.name, vni, group: g.group, endpoints });
      }
    }
    return out;
  }
}

/**
 * The MAC the querier of network `vni` sends from on host `node`: locally
 * administered, unicast, stable across restarts, and never an endpoint's
 * (those start 02:42).
 */
export function querierMac(node: string, vni: number): Buffer {
  const mac = createHash('sha256').update(`overlayd querier ${node} ${vni}`).digest().subarray(0, 6);
  mac[0] = (mac[0] & 0xfc) | 0x02;
  if (mac[1] === 0x42) mac[1] = 0x43;
  return Buffer.from(mac);
}

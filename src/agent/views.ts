/**
 * What the agent shows: its status, the networks, endpoints, FDB and
 * neighbour rows the store holds, the cluster members gossip sees, and the
 * counters. Read-only: nothing here changes the store or the host.
 */
import { toEndpointRecord, toNetworkRecord, type EndpointRecord, type NetworkRecord } from '../cluster/store.js';
import type { EndpointRuntime, NetworkEntry } from '../cluster/entries.js';
import { OverlayError } from '../cluster/errors.js';
import type { ClusterSync } from '../cluster/sync.js';
import { DROP_REASONS, type DropReason } from '../dataplane/datapath.js';
import type { Memberlist } from '../gossip/index.js';
import type { AgentContext } from './context.js';
import type { IdentityStatus } from './identity.js';
import { movableVethName } from '../host/links.js';
import type { ProbeStats } from './peer-health.js';
import type { AgentCounters, AgentEvent, FdbRow, GroupRow, MemberRow, MovableEndpoint, NeighRow } from './operations.js';
import type { SnoopingStats } from './group-membership.js';
import { formatMac, groupMac } from '../wire/index.js';

/** What the views read from the agent beyond the shared context. */
export interface ViewSources {
  readonly sync: ClusterSync;
  readonly startedAt: number;
  gossip(): Memberlist | undefined;
  defaultMtu(): number;
  identity(): IdentityStatus;
  /** What the VTEP probes did (peer-health.ts). */
  probes(): ProbeStats;
  /** What the multicast snooping did (group-membership.ts). */
  snooping(): SnoopingStats;
}

export class AgentViews {
  constructor(
    private readonly ctx: AgentContext,
    private readonly src: ViewSources,
  ) {}

  status(): Record<string, unknown> {
    const { config, store } = this.ctx;
    return {
      name: config.name,
      advertiseAddr: config.advertiseAddr,
      dataPort: config.dataPort,
      gossipPort: config.gossipPort,
      datapath: this.ctx.datapath.kind,
      workers: this.ctx.datapath.workers,
      defaultMtu: this.src.defaultMtu(),
      members: this.src.gossip()?.numMembers() ?? 1,
      networks: store.networks().length,
      endpoints: store.localEndpoints().length,
      uptimeSeconds: Math.round((Date.now() - this.src.startedAt) / 1000),
      identity: this.src.identity(),
      events: this.ctx.events.recent({ type: 'note' }, 20).map((e): AgentEvent => ({ time: e.time, message: e.summary })),
      pid: process.pid,
    };
  }

  networks(): NetworkRecord[] {
    return this.ctx.store.networks().map(toNetworkRecord);
  }

  network(name: string): NetworkRecord {
    return toNetworkRecord(this.ctx.store.network(name));
  }

  endpoints(network?: string): EndpointRecord[] {
    if (network !== undefined) this.ctx.store.network(network);
    return this.ctx.store.endpoints(network).map(toEndpointRecord);
  }

  movableEndpoint(runtime: EndpointRuntime, container: string): MovableEndpoint {
    const { store } = this.ctx;
    const ep = store.localEndpoints().find((e) => e.runtime === runtime && e.container === container && e.netns === '');
    if (!ep) throw new OverlayError('ENDPOINT_NOT_FOUND', `this host has no ${runtime} endpoint for container ${container}`);
    return { endpoint: toEndpointRecord(ep), ifname: movableVethName(ep.id), mtu: store.network(ep.network).mtu };
  }

  fdbRows(network?: string): FdbRow[] {
    const { store, config } = this.ctx;
    const rows: FdbRow[] = [];
    for (const net of this.selectNetworks(network)) {
      for (const e of store.endpoints(net.name)) {
        const origin = e.owner === config.name ? 'local' : 'gossip';
        for (const ip of e.ips) rows.push({ network: net.name, vni: net.vni, mac: e.mac, vtep: e.vtep, ip, origin, node: e.owner });
      }
      for (const p of store.peers.values()) {
        if (p.network === net.name) rows.push({ network: net.name, vni: net.vni, mac: p.mac, vtep: p.vtep, ip: p.ip, origin: 'static' });
      }
    }
    return rows;
  }

  neighRows(network?: string): NeighRow[] {
    return this.fdbRows(network).map(({ network: n, vni, ip, mac }) => ({ network: n, vni, ip, mac }));
  }

  /** Multicast groups by network and group: the hosts' group entries and the static peers configured for them. */
  groupRows(network?: string): GroupRow[] {
    const { store, datapath } = this.ctx;
    const rows = new Map<string, GroupRow>();
    /** The data path's group table of each network that is up here, read once per network. */
    const tables = new Map<string, Map<string, string[]>>();
    const table = (net: NetworkEntry): Map<string, string[]> | undefined => {
      const up = this.ctx.up.get(net.name);
      if (up && !tables.has(net.name)) tables.set(net.name, datapath.groups(up.vni));
      return tables.get(net.name);
    };
    const row = (net: NetworkEntry, group: string): GroupRow => {
      const key = `${net.name}/${group}`;
      let r = rows.get(key);
      if (!r) {
        const mac = formatMac(groupMac(group));
        rows.set(key, (r = { network: net.name, vni: net.vni, group, mac, members: [], vteps: table(net)?.get(mac) ?? [] }));
      }
      return r;
    };
    const nets = this.selectNetworks(network);
    if (network !== undefined && !nets[0].multicast) throw new OverlayError('BAD_REQUEST', `network ${network} was not created with --multicast: it has no groups`);
    for (const net of nets.filter((n) => n.multicast)) {
      for (const g of store.groups(net.name)) for (const endpoint of g.endpoints) row(net, g.group).members.push({ node: g.owner, endpoint, vtep: g.vtep });
      for (const p of store.peers.values()) {
        if (p.network === net.name) for (const group of p.groups ?? []) row(net, group).members.push({ node: null, endpoint: null, vtep: p.vtep, ip: p.ip });
      }
    }
    const order = (m: GroupRow['members'][number]): string => `${m.node ?? '~'} ${m.endpoint ?? m.ip}`;
    for (const r of rows.values()) r.members.sort((a, b) => order(a).localeCompare(order(b)));
    return [...rows.values()].sort((a, b) => a.network.localeCompare(b.network) || a.group.localeCompare(b.group));
  }

  /** Cluster members as gossip sees them, this node included. */
  members(): MemberRow[] {
    return (this.src.gossip()?.members() ?? [])
      .map(({ name, addr, port, state, incarnation }) => ({ name, addr, port, state, incarnation }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  counters(): AgentCounters {
    const workers = this.ctx.datapath.workerCounters?.();
    return { ...this.ctx.datapath.counters(), ...(workers && { workers }), probes: { ...this.src.probes() }, snooping: { ...this.src.snooping() }, cluster: { rejected: { ...this.ctx.store.rejected }, badMessages: this.src.sync.badMessages } };
  }

  /**
   * Drops by network and reason: each network's own count (the I/O loops'),
   * and under "" what no network here was known for — the total less the
   * networks', so the labels add up to `stats`. The rows are read before the
   * total: a drop is in the total before it is in its network's row.
   */
  dropsByNetwork(): Record<string, Record<DropReason, number>> {
    const byNetwork: Record<string, Record<DropReason, number>> = {};
    for (const [name, up] of this.ctx.up) {
      const drops = this.ctx.datapath.networkDrops(up.vni);
      if (drops) byNetwork[name] = drops;
    }
    const rest = { ...this.ctx.datapath.counters().drops };
    for (const drops of Object.values(byNetwork)) for (const r of DROP_REASONS) rest[r] = Math.max(0, rest[r] - drops[r]);
    byNetwork[''] = rest;
    return byNetwork;
  }

  private selectNetworks(name?: string): NetworkEntry[] {
    return name === undefined ? this.ctx.store.networks() : [this.ctx.store.network(name)];
  }
}

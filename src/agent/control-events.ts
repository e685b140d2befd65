/**
 * Control events: what changed in the cluster, as this host sees it, into
 * the event log. It diffs snapshots instead of hooking each writer, so a
 * change is reported the same whether it was made here or learnt by gossip:
 *
 *   member    {node, addr, state: alive|suspect|dead|left, previous?}     gossip's member list, every second and on store changes
 *   network   {network, vni, action: added|removed}                       the store's networks
 *   endpoint  {network, vni, action: added|removed|moved, id, ips, mac, node, vtep, from?}   the store's visible endpoints (any host's)
 *   key       {network, vni, action: added|rotated|retired, tag}          an encrypted network's key ring
 *   group     {network, vni, action: added|removed, group, node, vtep}     another host's multicast group (this host's own:
 *                                                                          joined|left per endpoint, group-membership.ts)
 *
 * An endpoint is keyed by (network, MAC): the same MAC at another node is a
 * move (`from` the node it was at). An endpoint hidden because its owner
 * died counts as removed, and as added again when the owner is back — what
 * the data path does with it. Nothing is emitted for the first snapshot.
 */
import type { EndpointEntry, GroupEntry, NetworkEntry } from '../cluster/entries.js';
import type { AgentContext } from './context.js';
import type { MemberRow } from './operations.js';

const MEMBER_POLL_MS = 1000;

interface KeyRing {
  tags: Set<number>;
  sendTag: number;
}

const hex = (tag: number): string => tag.toString(16).padStart(8, '0');

export class ControlEvents {
  private members = new Map<string, MemberRow>();
  private networks = new Map<string, NetworkEntry>();
  private endpoints = new Map<string, EndpointEntry>();
  private groups = new Map<string, GroupEntry>();
  private rings = new Map<string, KeyRing>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly ctx: AgentContext,
    private readonly memberRows: () => MemberRow[],
  ) {}

  /** Takes the first snapshot (emitting nothing) and follows the store and gossip from now on. */
  start(): void {
    this.diff(false);
    this.ctx.store.on('change', () => this.diff(true));
    this.timer = setInterval(() => this.diffMembers(true), MEMBER_POLL_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private diff(emit: boolean): void {
    this.diffMembers(emit);
    this.diffNetworks(emit);
    this.diffEndpoints(emit);
    this.diffGroups(emit);
  }

  /** Other hosts' groups, as visible as their endpoints (hidden while the host is dead). */
  private diffGroups(emit: boolean): void {
    const self = this.ctx.config.name;
    const now = new Map(this.ctx.store.groups().filter((g) => g.owner !== self).map((g) => [`${g.network}/${g.group}/${g.owner}`, g]));
    const event = (g: GroupEntry, action: 'added' | 'removed'): void => {
      const vni = this.networks.get(g.network)?.vni;
      const summary = `group ${g.group} of ${g.network} ${action === 'added' ? 'joined' : 'left'} on ${g.owner} (${g.vtep})`;
      this.ctx.events.emit({ type: 'group', network: g.network, ...(vni !== undefined && { vni }), action, group: g.group, node: g.owner, vtep: g.vtep, summary });
    };
    if (emit) for (const [k, g] of now) if (!this.groups.has(k)) event(g, 'added');
    if (emit) for (const [k, g] of this.groups) if (!now.has(k)) event(g, 'removed');
    this.groups = now;
  }

  private diffMembers(emit: boolean): void {
    const now = new Map(this.memberRows().map((m) => [m.name, m]));
    for (const [name, m] of now) {
      const before = this.members.get(name);
      if (!emit || before?.state === m.state) continue;
      const was = before ? ` (was ${before.state})` : '';
      const now = m.state === 'left' ? 'left' : `is ${m.state}`;
      this.ctx.events.emit({ type: 'member', node: name, addr: m.addr, state: m.state, ...(before && { previous: before.state }), summary: `member ${name} ${m.addr} ${now}${was}` });
    }
    this.members = now;
  }

  private diffNetworks(emit: boolean): void {
    const now = new Map(this.ctx.store.networks().map((n) => [n.name, n]));
    const rings = new Map<string, KeyRing>();
    for (const [name, net] of now) {
      if (emit && !this.networks.has(name)) this.emitNetwork(net, 'added');
      const enc = net.encryption;
      if (!enc) continue;
      const ring = { tags: new Set(enc.keys.map((k) => k.tag)), sendTag: enc.sendTag };
      if (emit) this.diffRing(net, this.rings.get(name), ring);
      rings.set(name, ring);
    }
    for (const [name, net] of this.networks) if (emit && !now.has(name)) this.emitNetwork(net, 'removed');
    this.networks = now;
    this.rings = rings;
  }

  private emitNetwork(net: NetworkEntry, action: 'added' | 'removed'): void {
    const what = action === 'added' ? ` (vni ${net.vni}, ${net.subnets.join(', ')}${net.encrypted ? ', encrypted' : ''})` : '';
    this.ctx.events.emit({ type: 'network', network: net.name, vni: net.vni, action, summary: `network ${net.name} ${action}${what}` });
  }

  private diffRing(net: NetworkEntry, before: KeyRing | undefined, now: KeyRing): void {
    const key = (action: string, tag: number, text: string): void => {
      this.ctx.events.emit({ type: 'key', network: net.name, vni: net.vni, action, tag: hex(tag), summary: `key ${hex(tag)} of ${net.name} ${text}` });
    };
    const old = before ?? { tags: new Set<number>(), sendTag: now.sendTag };
    for (const tag of now.tags) if (!old.tags.has(tag)) key('added', tag, tag === now.sendTag ? 'added, sending' : 'added (receive, next to send)');
    if (before && before.sendTag !== now.sendTag) key('rotated', now.sendTag, `now sends (rotated from ${hex(before.sendTag)})`);
    for (const tag of old.tags) if (!now.tags.has(tag)) key('retired', tag, 'retired');
  }

  private diffEndpoints(emit: boolean): void {
    const now = new Map(this.ctx.store.endpoints().map((e) => [`${e.network}/${e.mac}`, e]));
    for (const [k, ep] of now) {
      const before = this.endpoints.get(k);
      if (!emit || (before && before.owner === ep.owner && before.id === ep.id)) continue;
      const moved = before !== undefined && before.owner !== ep.owner;
      this.emitEndpoint(ep, moved ? 'moved' : 'added', moved ? before.owner : undefined);
    }
    for (const [k, ep] of this.endpoints) if (emit && !now.has(k)) this.emitEndpoint(ep, 'removed');
    this.endpoints = now;
  }

  private emitEndpoint(ep: EndpointEntry, action: 'added' | 'removed' | 'moved', from?: string): void {
    const vni = this.networks.get(ep.network)?.vni;
    const where = action === 'moved' ? `moved from ${from} to ${ep.owner} (${ep.vtep})` : `${action} on ${ep.owner} (${ep.vtep})`;
    this.ctx.events.emit({
      type: 'endpoint',
      network: ep.network,
      ...(vni !== undefined && { vni }),
      action,
      id: ep.id,
      ips: ep.ips,
      mac: ep.mac,
      node: ep.owner,
      vtep: ep.vtep,
      ...(from !== undefined && { from }),
      summary: `endpoint ${ep.ips.join(' ')} (${ep.mac}) of ${ep.network} ${where}`,
    });
  }
}

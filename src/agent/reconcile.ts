/**
 * Host state following the store: settles lost claims, brings networks up
 * where this host has endpoints and down where it has none, detaches what was
 * removed elsewhere, and keeps the data path's FDB, neighbour and group
 * tables in step. Everything here runs inside the agent's `serial` queue.
 */
import { claimedFirst, type NetworkEntry, type EndpointEntry } from '../cluster/entries.js';
import { OverlayError } from '../cluster/errors.js';
import { endpointMac } from '../wire/index.js';
import {
  attachTap,
  detachContainer,
  ensureBridge,
  hostVethName,
  linkExists,
  readdressContainer,
  removeNetworkLinks,
  resolveNetns,
  tapName,
} from '../host/links.js';
import { withPrefixes, type AgentContext, type UpNetwork } from './context.js';
import { applyGroupTable, groupTable } from './group-table.js';

/** What else follows a network coming up on this host and going down (the multicast snooping, group-membership.ts). */
export interface NetworkHooks {
  up(net: NetworkEntry, up: UpNetwork): void;
  down(name: string, up: UpNetwork): void;
}

export class Reconciler {
  constructor(
    private readonly ctx: AgentContext,
    /** Hands a network's key ring to the data path when it changed (keys.ts). */
    private readonly syncKeys: (net: NetworkEntry, up: UpNetwork) => void,
    private readonly hooks?: NetworkHooks,
  ) {}

  /** Brings this host in line with the store. Runs inside `serial`. */
  async reconcile(): Promise<void> {
    const { store, up: upNetworks } = this.ctx;
    await this.settleConflicts();
    // Our endpoints on networks that were removed elsewhere (network rm --force).
    for (const ep of store.localEndpoints()) {
      if (store.findNetwork(ep.network)?.id === ep.networkId) continue;
      await detachContainer(ep.id).catch(() => undefined);
      store.commitEndpointRemoval(ep.id);
      this.ctx.note(`endpoint ${ep.id.slice(0, 12)} (${ep.ips.join(', ')}) detached: network ${ep.network} was removed`);
    }
    // Networks are up exactly where this host has endpoints on them.
    const wanted = new Map(store.localEndpoints().map((ep) => [ep.network, store.network(ep.network)]));
    for (const [name, up] of upNetworks) {
      const net = wanted.get(name);
      if (!net || net.vni !== up.vni || net.id !== up.id) await this.tearDown(name);
    }
    for (const net of wanted.values()) await this.bringUp(net);
    for (const [name, up] of upNetworks) {
      const net = store.network(name);
      this.syncKeys(net, up);
      this.syncTables(net, up);
    }
  }

  /** Our claims that lost to earlier ones: a VNI taken twice, an address allocated twice. */
  private async settleConflicts(): Promise<void> {
    const { store } = this.ctx;
    for (const { network, winner } of store.lostVnis()) {
      const vni = store.freeVni();
      store.commitNetwork({ ...network, vni });
      this.ctx.note(`network ${network.name} moved from VNI ${network.vni} to ${vni}: network ${winner.name} claimed it first`);
    }
    // Every address an endpoint lost is replaced in one move (a dual-stack endpoint can lose both).
    const lost = new Map<string, { endpoint: EndpointEntry; ips: string[]; winners: string[] }>();
    for (const { endpoint, ip, winner } of store.lostClaims()) {
      const m = lost.get(endpoint.id) ?? { endpoint, ips: [], winners: [] };
      m.ips.push(ip);
      m.winners.push(winner.owner);
      lost.set(endpoint.id, m);
    }
    for (const { endpoint, ips: gone, winners } of lost.values()) {
      const net = store.network(endpoint.network);
      const kept = endpoint.ips.filter((x) => !gone.includes(x));
      const what = `endpoint ${endpoint.id.slice(0, 12)} (${endpoint.netns})`;
      try {
        const ips = store.allocate(net, store.usedAddresses(net.name), kept);
        const mac = endpointMac(ips[0]);
        await readdressContainer(resolveNetns(endpoint.netns), endpoint.ifname, withPrefixes(net, endpoint.ips), withPrefixes(net, ips), mac);
        store.commitEndpoint({ ...endpoint, ips, mac });
        this.ctx.note(`${what} moved from ${endpoint.ips.join(', ')} to ${ips.join(', ')}: ${[...new Set(winners)].join(', ')} claimed ${gone.join(', ')} first`);
      } catch (err) {
        await detachContainer(endpoint.id).catch(() => undefined);
        store.commitEndpointRemoval(endpoint.id);
        this.ctx.note(`${what} failed and was detached: ${gone.join(', ')} claimed first by ${winners.join(', ')}, and moving it failed (${(err as Error).message})`);
      }
    }
  }

  async bringUp(net: NetworkEntry): Promise<void> {
    if (this.ctx.up.has(net.name)) return;
    if (net.encrypted && !net.encryption) throw new OverlayError('BAD_REQUEST', `network ${net.name} is encrypted but this node has no keys for it: not bringing it up`);
    await ensureBridge(net.vni);
    const enc = net.encryption;
    // From this call on the path drops plaintext for the VNI and sends nothing without an SA.
    const encryption = enc && { carrier: enc.carrier, keySize: enc.keySize, esn: enc.esn };
    this.ctx.datapath.addNetwork({ vni: net.vni, tapName: tapName(net.vni), mtu: net.mtu, encryption, multicast: net.multicast && { rate: net.multicast.rate } });
    const up: UpNetwork = { vni: net.vni, id: net.id, fdb: new Map(), neigh: new Map(), groups: new Map() };
    this.ctx.up.set(net.name, up);
    this.syncKeys(net, up);
    await attachTap(net.vni);
    this.syncTables(net, up);
    this.hooks?.up(net, up);
  }

  private async tearDown(name: string): Promise<void> {
    const up = this.ctx.up.get(name);
    if (!up) return;
    this.hooks?.down(name, up);
    this.ctx.datapath.removeNetwork(up.vni);
    this.ctx.up.delete(name);
    await removeNetworkLinks(up.vni);
  }

  /** Brings the data path's FDB and neighbour table of `net` to what the store says. */
  private syncTables(net: NetworkEntry, have: UpNetwork): void {
    const { store, datapath } = this.ctx;
    const fdb = new Map<string, string>();
    const neigh = new Map<string, string>();
    for (const p of store.peers.values()) {
      if (p.network !== net.name) continue;
      fdb.set(p.mac, p.vtep);
      neigh.set(p.ip, p.mac);
    }
    // Earlier claims first: while an address is claimed twice, the earlier claim answers.
    const remote = store.endpoints(net.name).filter((e) => e.owner !== this.ctx.config.name);
    remote.sort((a, b) => (a === b ? 0 : claimedFirst(a, b) ? -1 : 1));
    for (const e of remote) {
      fdb.set(e.mac, e.vtep);
      for (const ip of e.ips) if (!neigh.has(ip)) neigh.set(ip, e.mac);
    }
    for (const [mac] of have.fdb) if (!fdb.has(mac)) datapath.fdbDelete(net.vni, mac);
    for (const [ip] of have.neigh) if (!neigh.has(ip)) datapath.neighDelete(net.vni, ip);
    for (const [mac, vtep] of fdb) if (have.fdb.get(mac) !== vtep) datapath.fdbSet(net.vni, mac, vtep);
    for (const [ip, mac] of neigh) if (have.neigh.get(ip) !== mac) datapath.neighSet(net.vni, ip, mac);
    have.fdb = fdb;
    have.neigh = neigh;
    if (!net.multicast) return;
    const groups = groupTable(net, store.groups(net.name), store.peers.values(), this.ctx.config.name);
    applyGroupTable(have.groups, groups, (mac, vteps) => datapath.groupSet(net.vni, mac, vteps));
    have.groups = groups;
  }

  /** After a restart: endpoints whose container went away while we were down are removed. */
  async forgetVanishedEndpoints(): Promise<void> {
    for (const ep of this.ctx.store.localEndpoints()) {
      if (await linkExists(hostVethName(ep.id))) continue;
      this.ctx.store.commitEndpointRemoval(ep.id);
      this.ctx.note(`endpoint ${ep.id.slice(0, 12)} removed: its interface is gone (container ${ep.netns} stopped while the agent was down)`);
    }
  }
}

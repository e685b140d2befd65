/**
 * The composition root: one agent per host. It owns the overlay store, the
 * data path and the host plumbing, and keeps the three in step — a change is
 * validated by the store, carried out on the host, then committed; the data
 * path's tables are recomputed from the store after every change.
 */
import { pino, type Logger } from 'pino';
import { OverlayStore, type EndpointRecord, type NetworkRecord, type PeerRecord } from '../cluster/store.js';
import { OverlayError } from '../cluster/errors.js';
import { parseCidr } from '../cluster/cidr.js';
import { createDatapath } from '../dataplane/index.js';
import type { Datapath, DatapathCounters } from '../dataplane/datapath.js';
import { attachContainer, attachTap, detachContainer, ensureBridge, hostVethName, linkExists, removeNetworkLinks, resolveNetns, tapName } from '../host/links.js';
import { overlayMtu, underlayInterface } from '../host/mtu.js';
import { ipFamily } from '../wire/index.js';
import { Memberlist, type NodeInfo } from '../gossip/index.js';
import type { AgentConfig } from './config.js';
import { loadState, saveState } from './state-file.js';

/** Rows of `overlayctl fdb --json`. */
export interface FdbRow {
  network: string;
  vni: number;
  mac: string;
  vtep: string;
  ip: string;
  origin: 'local' | 'static' | 'gossip';
  node?: string;
}

/** Rows of `overlayctl neigh --json`. */
export interface NeighRow {
  network: string;
  vni: number;
  ip: string;
  mac: string;
}

export interface NetworkCreateRequest {
  name: string;
  subnets: string[];
  vni?: number;
  mtu?: number;
  encrypted?: boolean;
}

export interface EndpointAttachRequest {
  network: string;
  netns: string;
  ips?: string[];
  ifname?: string;
}

/** What is installed in the data path for one VNI, to apply only differences. */
interface Installed {
  fdb: Map<string, string>;
  neigh: Map<string, string>;
}

export class Agent {
  readonly store = new OverlayStore();
  readonly log: Logger;
  private datapath!: Datapath;
  private gossip?: Memberlist;
  private joinTimer?: NodeJS.Timeout;
  private defaultMtu = 1450;
  private readonly installed = new Map<number, Installed>();
  private readonly startedAt = Date.now();
  /** Serialises changes: one state change (with its host plumbing) at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly config: AgentConfig, log?: Logger) {
    this.log = log ?? pino({ level: config.logLevel }, pino.destination(2));
  }

  async start(): Promise<void> {
    const family = ipFamily(this.config.advertiseAddr) as 4 | 6;
    const underlay = await underlayInterface(this.config.advertiseAddr);
    this.defaultMtu = overlayMtu(underlay.mtu, family);
    this.datapath = await createDatapath(this.config.datapath, {
      bindAddress: this.config.listenAddr,
      dataPort: this.config.dataPort,
    });
    await this.datapath.start();
    const saved = loadState(this.config.stateDir);
    if (saved) this.store.load(saved);
    for (const net of this.store.networks.values()) await this.bringUp(net);
    await this.forgetVanishedEndpoints();
    this.store.on('change', () => saveState(this.config.stateDir, this.store.snapshot()));
    saveState(this.config.stateDir, this.store.snapshot());
    await this.startGossip();
    this.log.info(
      { name: this.config.name, advertise: this.config.advertiseAddr, datapath: this.datapath.kind, underlay: underlay.ifname, mtu: this.defaultMtu },
      'agent started',
    );
  }

  /**
   * Leaves the cluster gracefully (peers see this node as left), then stops
   * forwarding; bridges, TAPs and containers stay so a restart picks them up.
   */
  async stop(): Promise<void> {
    clearTimeout(this.joinTimer);
    if (this.gossip) {
      await this.gossip.leave(2000).catch((err: Error) => this.log.warn({ err: err.message }, 'graceful leave failed'));
      await this.gossip.shutdown();
    }
    await this.datapath?.stop();
  }

  private async startGossip(): Promise<void> {
    const c = this.config;
    this.gossip = await Memberlist.create({
      name: c.name,
      bindAddr: c.listenAddr,
      bindPort: c.gossipPort,
      advertiseAddr: c.advertiseAddr,
      advertisePort: c.gossipPort,
      secretKey: c.gossipKey,
      log: (level, message) => this.log[level]({ component: 'gossip' }, message),
    });
    this.gossip.on('join', (n: NodeInfo) => this.log.info({ node: n.name, addr: n.addr }, 'member joined'));
    this.gossip.on('leave', (n: NodeInfo) => this.log.info({ node: n.name, state: n.state }, 'member left or failed'));
    if (c.join.length > 0) await this.joinCluster(1000);
  }

  /** Joins through --join; keeps retrying with backoff while nobody answers, as an operator expects. */
  private async joinCluster(retryMs: number): Promise<void> {
    const joined = await this.gossip!.join(this.config.join).catch((err: Error) => {
      this.log.warn({ join: this.config.join, err: err.message }, 'join failed; retrying');
      return 0;
    });
    if (joined > 0) {
      this.log.info({ contacted: joined, members: this.gossip!.numMembers() }, 'joined the cluster');
      return;
    }
    this.joinTimer = setTimeout(() => void this.joinCluster(Math.min(retryMs * 2, 30_000)), retryMs);
    this.joinTimer.unref();
  }

  get datapathKind(): 'native' | 'js' {
    return this.datapath.kind;
  }

  status(): Record<string, unknown> {
    return {
      name: this.config.name,
      advertiseAddr: this.config.advertiseAddr,
      dataPort: this.config.dataPort,
      gossipPort: this.config.gossipPort,
      datapath: this.datapath.kind,
      defaultMtu: this.defaultMtu,
      networks: this.store.networks.size,
      endpoints: [...this.store.endpoints.values()].filter((e) => e.node === this.config.name).length,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      pid: process.pid,
    };
  }

  createNetwork(req: NetworkCreateRequest): Promise<NetworkRecord> {
    return this.serial(async () => {
      if (req.encrypted) throw new OverlayError('UNSUPPORTED', 'encrypted networks are not available yet in this build');
      const net = this.store.prepareNetwork({ ...req, mtu: req.mtu ?? this.defaultMtu });
      try {
        await this.bringUp(net);
      } catch (err) {
        await this.tearDown(net).catch(() => undefined);
        throw err;
      }
      this.store.commitNetwork(net);
      this.log.info({ network: net.name, vni: net.vni, subnets: net.subnets }, 'network created');
      return net;
    });
  }

  removeNetwork(name: string, force: boolean): Promise<void> {
    return this.serial(async () => {
      const { network, endpoints } = this.store.prepareNetworkRemoval(name, force);
      for (const ep of endpoints) if (ep.node === this.config.name) await detachContainer(ep.id);
      await this.tearDown(network);
      this.store.commitNetworkRemoval(name);
      this.log.info({ network: name }, 'network removed');
    });
  }

  attachEndpoint(req: EndpointAttachRequest): Promise<EndpointRecord> {
    return this.serial(async () => {
      const ep = this.store.prepareEndpoint({ ...req, node: this.config.name });
      const net = this.store.network(ep.network);
      const nsPath = resolveNetns(req.netns);
      const prefixes = net.subnets.map(parseCidr);
      const addresses = ep.ips.map((ip) => `${ip}/${prefixes.find((c) => c.family === ipFamily(ip))!.prefix}`);
      await attachContainer({ endpointId: ep.id, vni: net.vni, nsPath, ifname: ep.ifname, mac: ep.mac, mtu: net.mtu, addresses });
      this.store.commitEndpoint(ep);
      this.log.info({ endpoint: ep.id, network: ep.network, ips: ep.ips }, 'endpoint attached');
      return ep;
    });
  }

  detachEndpoint(id: string): Promise<EndpointRecord> {
    return this.serial(async () => {
      const ep = this.store.endpoint(id);
      if (ep.node !== this.config.name) throw new OverlayError('BAD_REQUEST', `endpoint ${id} belongs to node ${ep.node}`);
      await detachContainer(ep.id);
      this.store.commitEndpointRemoval(ep.id);
      this.log.info({ endpoint: ep.id }, 'endpoint detached');
      return ep;
    });
  }

  addPeer(req: PeerRecord): Promise<PeerRecord> {
    return this.serial(async () => {
      const peer = this.store.preparePeer(req);
      this.store.commitPeer(peer);
      this.syncTables(this.store.network(peer.network));
      return peer;
    });
  }

  removePeer(network: string, ip: string): Promise<PeerRecord> {
    return this.serial(async () => {
      const peer = this.store.peer(network, ip);
      this.store.commitPeerRemoval(peer);
      this.syncTables(this.store.network(network));
      return peer;
    });
  }

  networks(): NetworkRecord[] {
    return [...this.store.networks.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  endpoints(network?: string): EndpointRecord[] {
    if (network !== undefined) this.store.network(network);
    return [...this.store.endpoints.values()].filter((e) => network === undefined || e.network === network);
  }

  fdbRows(network?: string): FdbRow[] {
    const rows: FdbRow[] = [];
    for (const net of this.selectNetworks(network)) {
      for (const e of this.store.endpoints.values()) {
        if (e.network !== net.name) continue;
        const origin = e.node === this.config.name ? 'local' : 'gossip';
        for (const ip of e.ips) rows.push({ network: net.name, vni: net.vni, mac: e.mac, vtep: this.config.advertiseAddr, ip, origin, node: e.node });
      }
      for (const p of this.store.peers.values()) {
        if (p.network === net.name) rows.push({ network: net.name, vni: net.vni, mac: p.mac, vtep: p.vtep, ip: p.ip, origin: 'static' });
      }
    }
    return rows;
  }

  neighRows(network?: string): NeighRow[] {
    return this.fdbRows(network).map(({ network: n, vni, ip, mac }) => ({ network: n, vni, ip, mac }));
  }

  /** Cluster members as gossip sees them, this node included. */
  members(): Pick<NodeInfo, 'name' | 'addr' | 'port' | 'state' | 'incarnation'>[] {
    return (this.gossip?.members() ?? [])
      .map(({ name, addr, port, state, incarnation }) => ({ name, addr, port, state, incarnation }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  counters(): DatapathCounters {
    return this.datapath.counters();
  }

  private selectNetworks(name?: string): NetworkRecord[] {
    return name === undefined ? this.networks() : [this.store.network(name)];
  }

  private async bringUp(net: NetworkRecord): Promise<void> {
    await ensureBridge(net.vni);
    this.datapath.addNetwork({ vni: net.vni, tapName: tapName(net.vni), mtu: net.mtu });
    this.installed.set(net.vni, { fdb: new Map(), neigh: new Map() });
    await attachTap(net.vni);
    this.syncTables(net);
  }

  private async tearDown(net: NetworkRecord): Promise<void> {
    this.datapath.removeNetwork(net.vni);
    this.installed.delete(net.vni);
    await removeNetworkLinks(net.vni);
  }

  /** Brings the data path's FDB and neighbour table of `net` to what the store says. */
  private syncTables(net: NetworkRecord): void {
    const have = this.installed.get(net.vni);
    if (!have) return;
    const fdb = new Map<string, string>();
    const neigh = new Map<string, string>();
    for (const p of this.store.peers.values()) {
      if (p.network !== net.name) continue;
      fdb.set(p.mac, p.vtep);
      neigh.set(p.ip, p.mac);
    }
    for (const [mac] of have.fdb) if (!fdb.has(mac)) this.datapath.fdbDelete(net.vni, mac);
    for (const [ip] of have.neigh) if (!neigh.has(ip)) this.datapath.neighDelete(net.vni, ip);
    for (const [mac, vtep] of fdb) if (have.fdb.get(mac) !== vtep) this.datapath.fdbSet(net.vni, mac, vtep);
    for (const [ip, mac] of neigh) if (have.neigh.get(ip) !== mac) this.datapath.neighSet(net.vni, ip, mac);
    this.installed.set(net.vni, { fdb, neigh });
  }

  /** After a restart: endpoints whose container went away while we were down are forgotten. */
  private async forgetVanishedEndpoints(): Promise<void> {
    for (const ep of [...this.store.endpoints.values()]) {
      if (ep.node !== this.config.name || (await linkExists(hostVethName(ep.id)))) continue;
      this.log.warn({ endpoint: ep.id, netns: ep.netns }, 'endpoint interface is gone; forgetting the endpoint');
      this.store.endpoints.delete(ep.id);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/**
 * The composition root: one agent per host. It owns the overlay store, the
 * gossip node, the data path and the host plumbing, and keeps them in step:
 *
 *   overlayctl ─► validate (store) ─► host plumbing ─► commit ─► announce (gossip)
 *   gossip ─► merge (store) ─┐
 *   member up/down ──────────┴► reconcile: settle conflicts, bring networks
 *                               up/down, detach what was removed, set tables
 *
 * Everything that changes the host runs one at a time (`serial`).
 */
import { pino, type Logger } from 'pino';
import { OverlayStore, toEndpointRecord, toNetworkRecord, type EndpointRecord, type NetworkRecord, type PeerRecord } from '../cluster/store.js';
import type { EndpointEntry, NetworkEntry } from '../cluster/entries.js';
import { OverlayError } from '../cluster/errors.js';
import { endpointMac, parseCidr } from '../wire/index.js';
import { ClusterSync } from '../cluster/sync.js';
import { createDatapath } from '../dataplane/index.js';
import type { CapturedFrame, Datapath, DatapathCounters } from '../dataplane/datapath.js';
import { CAPTURE_MAX_S, CaptureEncoder, type CaptureOptions } from './capture.js';
import { Memberlist, type NodeInfo } from '../gossip/index.js';
import {
  attachContainer,
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
import { overlayMtu, underlayInterface } from '../host/mtu.js';
import { ipFamily, parseIp } from '../wire/index.js';
import { deriveSa, encryptedOverlayMtu, espSaUatFile } from '../crypto/index.js';
import type { EncryptionRequest, EspCarrierName, NetworkEncryptionEntry } from '../cluster/network-keys.js';
import type { SaIdentity, SaInfo } from '../dataplane/datapath.js';
import {
  CHECKPOINT_INTERVAL_MS,
  ESN_REKEY_AT,
  NO_ESN_REKEY_AT,
  SequenceCheckpoints,
  keyringOf,
  ringSignature,
  rotationDue,
  scheduledRotator,
} from './encryption.js';
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
  /** Encrypted networks: carrier (default ip), AES key bits (default 128), ESN (default on). */
  esp?: { carrier?: EspCarrierName; keyBits?: 128 | 256; esn?: boolean };
}

/** `overlayctl keys NETWORK --json`. */
export interface KeysReport {
  network: string;
  vni: number;
  carrier: EspCarrierName;
  keySize: 16 | 32;
  esn: boolean;
  keys: { tag: number; sending: boolean; pending: boolean; ageSeconds: number; created: string }[];
  /** The SAs this host holds for the network (none until it has endpoints on it). */
  sas: { direction: 'out' | 'in'; peer: string; spi: string; keyTag: number; seq: number }[];
  /** Only with --show-secrets, for root. */
  secrets?: { keys: { tag: number; material: string }[]; espSa: string };
}

export interface EndpointAttachRequest {
  network: string;
  netns: string;
  ips?: string[];
  ifname?: string;
}

/** Something the agent did on its own that an operator should know about. */
export interface AgentEvent {
  time: string;
  message: string;
}

/** A network brought up on this host, and what its data-path tables hold. */
interface UpNetwork {
  vni: number;
  id: string;
  /** Encrypted networks: the ring the data path holds (ringSignature). */
  ring?: string;
  fdb: Map<string, string>;
  neigh: Map<string, string>;
}

const REAP_INTERVAL_MS = 60_000;
/**
 * How often dead members are tried again. memberlist gossips to the dead only
 * for 30 s; without this, two sides of a longer partition would never meet
 * again (Serf and NetworkDB retry failed nodes the same way).
 */
const RECONNECT_INTERVAL_MS = 10_000;
/** Changes learnt from gossip are written to the state file at most this often. */
const SAVE_DELAY_MS = 200;
/**
 * An on-demand rotation promotes a key only once this node has held it this
 * long, so gossip has carried it to every live node first (5 agents converge
 * in well under a second; 50 in about one).
 */
export const KEY_SETTLE_MS = 5_000;
/** How often the schedule of key rotations is looked at. */
const ROTATION_CHECK_MS = 30_000;

export class Agent {
  readonly store: OverlayStore;
  readonly log: Logger;
  private readonly sync: ClusterSync;
  private datapath!: Datapath;
  private gossip?: Memberlist;
  private joinTimer?: NodeJS.Timeout;
  private reapTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private defaultMtu = 1450;
  private readonly up = new Map<string, UpNetwork>();
  /** Capture sessions per VNI (several may watch one network). */
  private readonly captures = new Map<number, Set<(f: CapturedFrame) => void>>();
  private readonly startedAt = Date.now();
  private readonly events: AgentEvent[] = [];
  /** Serialises changes: one state change (with its host plumbing) at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private reconcilePending = false;
  private saveTimer?: NodeJS.Timeout;
  private sequences!: SequenceCheckpoints;
  private checkpointTimer?: NodeJS.Timeout;
  private rotationTimer?: NodeJS.Timeout;
  private underlayMtu = 1500;
  /** When this node first held each key tag (the settle guard of on-demand rotations). */
  private readonly keySeen = new Map<number, number>();
  /** Networks with a rotation under way from the schedule or a worn SA. */
  private readonly rotating = new Set<string>();

  constructor(
    readonly config: AgentConfig,
    log?: Logger,
  ) {
    this.log = log ?? pino({ level: config.logLevel }, pino.destination(2));
    this.store = new OverlayStore(config.name, config.advertiseAddr);
    this.sync = new ClusterSync(this.store, (msg, fields) => this.log.warn(fields ?? {}, msg));
  }

  async start(): Promise<void> {
    const family = ipFamily(this.config.advertiseAddr) as 4 | 6;
    const underlay = await underlayInterface(this.config.advertiseAddr);
    this.defaultMtu = overlayMtu(underlay.mtu, family);
    this.underlayMtu = underlay.mtu;
    this.sequences = new SequenceCheckpoints(this.config.stateDir);
    this.datapath = await createDatapath(this.config.datapath, {
      bindAddress: this.config.listenAddr,
      dataPort: this.config.dataPort,
      vtepAddress: this.config.advertiseAddr,
      espPort: this.config.espPort,
      sequenceStart: (id) => this.sequenceStart(id),
      windowStart: (id) => this.sequences.windowStart(id),
    });
    await this.datapath.start();
    const saved = loadState(this.config.stateDir);
    if (saved) this.store.load(saved);
    await this.forgetVanishedEndpoints();
    // Our own changes are on disk before the operator hears back; what gossip brings is saved in batches.
    this.store.on('local', () => this.saveNow());
    this.store.on('change', () => {
      this.saveSoon();
      this.scheduleReconcile();
    });
    await this.serial(() => this.reconcile());
    await this.startGossip();
    // Re-announce our endpoints: peers that saw us leave forgot them.
    for (const ep of this.store.localEndpoints()) this.store.commitEndpoint(ep);
    this.saveNow();
    this.reapTimer = setInterval(() => this.store.reapTombstones(), REAP_INTERVAL_MS).unref();
    this.reconnectTimer = setInterval(() => this.reconnectDead(), RECONNECT_INTERVAL_MS).unref();
    this.checkpointTimer = setInterval(() => this.checkpointSequences(), CHECKPOINT_INTERVAL_MS).unref();
    if (this.config.keyRotationIntervalS > 0) {
      const every = Math.min(ROTATION_CHECK_MS, (this.config.keyRotationIntervalS * 1000) / 4);
      this.rotationTimer = setInterval(() => this.rotateDueKeys(), every).unref();
    }
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
    clearInterval(this.reapTimer);
    clearInterval(this.reconnectTimer);
    clearInterval(this.checkpointTimer);
    clearInterval(this.rotationTimer);
    if (this.saveTimer) this.saveNow();
    if (this.gossip) {
      await this.gossip.leave(2000).catch((err: Error) => this.log.warn({ err: err.message }, 'graceful leave failed'));
      await this.gossip.shutdown();
    }
    if (this.datapath) this.checkpointSequences();
    await this.datapath?.stop();
  }

  // ---- operations (the control API calls these) ---------------------------

  status(): Record<string, unknown> {
    return {
      name: this.config.name,
      advertiseAddr: this.config.advertiseAddr,
      dataPort: this.config.dataPort,
      gossipPort: this.config.gossipPort,
      datapath: this.datapath.kind,
      defaultMtu: this.defaultMtu,
      members: this.gossip?.numMembers() ?? 1,
      networks: this.store.networks().length,
      endpoints: this.store.localEndpoints().length,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      events: this.events.slice(-20),
      pid: process.pid,
    };
  }

  createNetwork(req: NetworkCreateRequest): Promise<NetworkRecord> {
    return this.serial(async () => {
      const encryption = req.encrypted ? this.encryptionRequest(req) : undefined;
      const mtu = req.mtu ?? (encryption ? this.encryptedMtu(encryption) : this.defaultMtu);
      const net = this.store.commitNetwork(this.store.prepareNetwork({ ...req, mtu, encryption }));
      this.log.info({ network: net.name, vni: net.vni, subnets: net.subnets, mtu: net.mtu, encrypted: net.encrypted }, 'network created');
      return toNetworkRecord(net);
    });
  }

  /**
   * One rotation step of an encrypted network's keys (network-keys.ts), on
   * demand. Waits until the key it promotes has been here KEY_SETTLE_MS (so
   * every live node holds it), and returns once this host sends with it.
   */
  async rotateKey(name: string): Promise<KeysReport> {
    const pending = this.store.pendingKey(name);
    if (pending === undefined) throw new OverlayError('BAD_REQUEST', `network ${name} is not encrypted: it has no keys to rotate`);
    const wait = (this.keySeen.get(pending.tag) ?? Date.now()) + KEY_SETTLE_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return this.serial(async () => {
      const net = this.store.commitKeyRotation(name);
      this.log.info({ network: name, sendTag: net.encryption!.sendTag }, 'network key rotated');
      await this.reconcile();
      return this.keys(name, false);
    });
  }

  /** The key ring and SAs of an encrypted network; with `secrets`, the keys too (the API allows it to root only). */
  keys(name: string, secrets: boolean): KeysReport {
    const net = this.store.network(name);
    const enc = net.encryption;
    if (!enc) throw new OverlayError('BAD_REQUEST', `network ${name} is not encrypted`);
    const now = Date.now();
    const pending = this.store.pendingKey(name);
    const sas = this.up.has(name) ? this.datapath.securityAssociations(net.vni) : [];
    const report: KeysReport = {
      network: net.name,
      vni: net.vni,
      carrier: enc.carrier,
      keySize: enc.keySize,
      esn: enc.esn,
      keys: enc.keys.map((k) => ({
        tag: k.tag,
        sending: k.tag === enc.sendTag,
        pending: k.tag === pending?.tag,
        ageSeconds: Math.max(0, Math.round((now - k.created) / 1000)),
        created: new Date(k.created).toISOString(),
      })),
      sas: sas.map((s) => ({ direction: s.direction, peer: s.peer, spi: `0x${s.spi.toString(16).padStart(8, '0')}`, keyTag: s.keyTag, seq: s.seq })),
    };
    if (secrets) {
      const keys = keyringOf(enc).keys.map((k) => ({ tag: k.tag, material: Buffer.from(k.material).toString('hex') }));
      report.secrets = { keys, espSa: this.espSaExport(enc, sas) };
    }
    return report;
  }

  removeNetwork(name: string, force: boolean): Promise<void> {
    return this.serial(async () => {
      const { network } = this.store.prepareNetworkRemoval(name, force);
      for (const ep of this.store.localEndpoints(name)) await detachContainer(ep.id);
      this.store.commitNetworkRemoval(network.name);
      this.log.info({ network: name }, 'network removed');
    });
  }

  attachEndpoint(req: EndpointAttachRequest): Promise<EndpointRecord> {
    return this.serial(async () => {
      const ep = this.store.prepareEndpoint(req);
      const net = this.store.network(ep.network);
      const nsPath = resolveNetns(req.netns);
      await this.bringUp(net);
      await attachContainer({ endpointId: ep.id, vni: net.vni, nsPath, ifname: ep.ifname, mac: ep.mac, mtu: net.mtu, addresses: this.withPrefixes(net, ep.ips) });
      const done = this.store.commitEndpoint(ep);
      this.log.info({ endpoint: ep.id, network: ep.network, ips: ep.ips }, 'endpoint attached');
      return toEndpointRecord(done);
    });
  }

  detachEndpoint(id: string): Promise<EndpointRecord> {
    return this.serial(async () => {
      const ep = this.store.endpoint(id);
      if (ep.owner !== this.config.name) throw new OverlayError('BAD_REQUEST', `endpoint ${id} belongs to node ${ep.owner}; detach it there`);
      await detachContainer(ep.id);
      this.store.commitEndpointRemoval(ep.id);
      this.log.info({ endpoint: ep.id }, 'endpoint detached');
      return toEndpointRecord(ep);
    });
  }

  addPeer(req: PeerRecord): Promise<PeerRecord> {
    return this.serial(async () => {
      const peer = this.store.preparePeer(req);
      this.store.commitPeer(peer);
      return peer;
    });
  }

  removePeer(network: string, ip: string): Promise<PeerRecord> {
    return this.serial(async () => {
      const peer = this.store.peer(network, ip);
      this.store.commitPeerRemoval(peer);
      return peer;
    });
  }

  networks(): NetworkRecord[] {
    return this.store.networks().map(toNetworkRecord);
  }

  network(name: string): NetworkRecord {
    return toNetworkRecord(this.store.network(name));
  }

  endpoints(network?: string): EndpointRecord[] {
    if (network !== undefined) this.store.network(network);
    return this.store.endpoints(network).map(toEndpointRecord);
  }

  fdbRows(network?: string): FdbRow[] {
    const rows: FdbRow[] = [];
    for (const net of this.selectNetworks(network)) {
      for (const e of this.store.endpoints(net.name)) {
        const origin = e.owner === this.config.name ? 'local' : 'gossip';
        for (const ip of e.ips) rows.push({ network: net.name, vni: net.vni, mac: e.mac, vtep: e.vtep, ip, origin, node: e.owner });
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

  counters(): DatapathCounters & { cluster: { rejected: Record<string, number>; badMessages: number } } {
    return { ...this.datapath.counters(), cluster: { rejected: { ...this.store.rejected }, badMessages: this.sync.badMessages } };
  }

  /**
   * Starts mirroring a network's frames as pcap: `write` gets the header, then
   * one record per frame, then `end` is called when the count or duration is
   * reached. Returns a function that stops early (the client went away).
   */
  startCapture(network: string, opts: CaptureOptions, write: (chunk: Buffer) => void, end: () => void): () => void {
    const net = this.store.network(network);
    const up = this.up.get(net.name);
    if (!up) throw new OverlayError('BAD_REQUEST', `network ${network} has no endpoints on this host: nothing passes here to capture`);
    if (opts.outer && net.encrypted) {
      // --outer rebuilds VXLAN around the frames: for an encrypted network that would show plaintext that never travelled.
      throw new OverlayError(
        'BAD_REQUEST',
        `network ${network} is encrypted: its outer packets are ESP; capture them on the underlay (tcpdump) and decrypt with the SAs of overlayctl keys ${network} --show-secrets`,
      );
    }
    const durationS = opts.durationS ?? 30;
    if (!(durationS > 0 && durationS <= CAPTURE_MAX_S)) throw new OverlayError('BAD_REQUEST', `capture duration must be 1..${CAPTURE_MAX_S} s`);
    if (opts.count !== undefined && !(Number.isInteger(opts.count) && opts.count > 0)) throw new OverlayError('BAD_REQUEST', 'capture count must be a positive integer');
    const encoder = new CaptureEncoder(up.vni, this.config.advertiseAddr, this.config.dataPort, opts.outer === true);
    let seen = 0;
    let done = false;
    const sinks = this.captures.get(up.vni) ?? new Set();
    const stop = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sinks.delete(sink);
      if (sinks.size === 0) {
        this.captures.delete(up.vni);
        if (this.up.get(net.name) === up) this.datapath.setCapture(up.vni, null);
      }
      end();
    };
    const sink = (f: CapturedFrame): void => {
      const record = encoder.record(f);
      if (done || !record) return;
      write(record);
      if (opts.count !== undefined && ++seen >= opts.count) stop();
    };
    const timer = setTimeout(stop, durationS * 1000);
    write(encoder.header());
    sinks.add(sink);
    if (!this.captures.has(up.vni)) {
      this.captures.set(up.vni, sinks);
      this.datapath.setCapture(up.vni, (f) => sinks.forEach((s) => s(f)));
    }
    return stop;
  }

  // ---- gossip -------------------------------------------------------------

  private async startGossip(): Promise<void> {
    const c = this.config;
    this.gossip = await Memberlist.create(
      {
        name: c.name,
        bindAddr: c.listenAddr,
        bindPort: c.gossipPort,
        advertiseAddr: c.advertiseAddr,
        advertisePort: c.gossipPort,
        secretKey: c.gossipKey,
        log: (level, message) => this.log[level]({ component: 'gossip' }, message),
      },
      { delegate: this.sync, events: this.sync },
    );
    this.sync.attach(this.gossip);
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

  /** A push/pull with each dead member: if it is up again (a healed partition), both sides learn it. */
  private reconnectDead(): void {
    for (const n of this.gossip?.members() ?? []) {
      if (n.state !== 'dead') continue;
      const addr = n.addr.includes(':') ? `[${n.addr}]:${n.port}` : `${n.addr}:${n.port}`;
      this.gossip!.pushPullWith(addr).catch(() => undefined); // still unreachable: try again next round
    }
  }

  // ---- reconciliation -----------------------------------------------------

  private scheduleReconcile(): void {
    if (this.reconcilePending) return;
    this.reconcilePending = true;
    void this.serial(async () => {
      this.reconcilePending = false;
      await this.reconcile();
    }).catch((err: Error) => this.log.error({ err: err.message }, 'reconcile failed'));
  }

  /** Brings this host in line with the store. Runs inside `serial`. */
  private async reconcile(): Promise<void> {
    await this.settleConflicts();
    // Our endpoints on networks that were removed elsewhere (network rm --force).
    for (const ep of this.store.localEndpoints()) {
      if (this.store.findNetwork(ep.network)?.id === ep.networkId) continue;
      await detachContainer(ep.id).catch(() => undefined);
      this.store.commitEndpointRemoval(ep.id);
      this.note(`endpoint ${ep.id.slice(0, 12)} (${ep.ips.join(', ')}) detached: network ${ep.network} was removed`);
    }
    // Networks are up exactly where this host has endpoints on them.
    const wanted = new Map(this.store.localEndpoints().map((ep) => [ep.network, this.store.network(ep.network)]));
    for (const [name, up] of this.up) {
      const net = wanted.get(name);
      if (!net || net.vni !== up.vni || net.id !== up.id) await this.tearDown(name);
    }
    for (const net of wanted.values()) await this.bringUp(net);
    for (const [name, up] of this.up) {
      const net = this.store.network(name);
      this.syncKeys(net, up);
      this.syncTables(net, up);
    }
  }

  /** Our claims that lost to earlier ones: a VNI taken twice, an address allocated twice. */
  private async settleConflicts(): Promise<void> {
    for (const { network, winner } of this.store.lostVnis()) {
      const vni = this.store.freeVni();
      this.store.commitNetwork({ ...network, vni });
      this.note(`network ${network.name} moved from VNI ${network.vni} to ${vni}: network ${winner.name} claimed it first`);
    }
    // Every address an endpoint lost is replaced in one move (a dual-stack endpoint can lose both).
    const lost = new Map<string, { endpoint: EndpointEntry; ips: string[]; winners: string[] }>();
    for (const { endpoint, ip, winner } of this.store.lostClaims()) {
      const m = lost.get(endpoint.id) ?? { endpoint, ips: [], winners: [] };
      m.ips.push(ip);
      m.winners.push(winner.owner);
      lost.set(endpoint.id, m);
    }
    for (const { endpoint, ips: gone, winners } of lost.values()) {
      const net = this.store.network(endpoint.network);
      const kept = endpoint.ips.filter((x) => !gone.includes(x));
      const what = `endpoint ${endpoint.id.slice(0, 12)} (${endpoint.netns})`;
      try {
        const ips = this.store.allocate(net, this.store.usedAddresses(net.name), kept);
        const mac = endpointMac(ips[0]);
        await readdressContainer(resolveNetns(endpoint.netns), endpoint.ifname, this.withPrefixes(net, endpoint.ips), this.withPrefixes(net, ips), mac);
        this.store.commitEndpoint({ ...endpoint, ips, mac });
        this.note(`${what} moved from ${endpoint.ips.join(', ')} to ${ips.join(', ')}: ${[...new Set(winners)].join(', ')} claimed ${gone.join(', ')} first`);
      } catch (err) {
        await detachContainer(endpoint.id).catch(() => undefined);
        this.store.commitEndpointRemoval(endpoint.id);
        this.note(`${what} failed and was detached: ${gone.join(', ')} claimed first by ${winners.join(', ')}, and moving it failed (${(err as Error).message})`);
      }
    }
  }

  private saveNow(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    saveState(this.config.stateDir, this.store.snapshot());
  }

  private saveSoon(): void {
    this.saveTimer ??= setTimeout(() => this.saveNow(), SAVE_DELAY_MS);
  }

  private note(message: string): void {
    this.events.push({ time: new Date().toISOString(), message });
    if (this.events.length > 100) this.events.shift();
    this.log.warn(message);
  }

  private async bringUp(net: NetworkEntry): Promise<void> {
    if (this.up.has(net.name)) return;
    if (net.encrypted && !net.encryption) throw new OverlayError('BAD_REQUEST', `network ${net.name} is encrypted but this node has no keys for it: not bringing it up`);
    await ensureBridge(net.vni);
    const enc = net.encryption;
    // From this call on the path drops plaintext for the VNI and sends nothing without an SA.
    this.datapath.addNetwork({ vni: net.vni, tapName: tapName(net.vni), mtu: net.mtu, encryption: enc && { carrier: enc.carrier, keySize: enc.keySize, esn: enc.esn } });
    const up: UpNetwork = { vni: net.vni, id: net.id, fdb: new Map(), neigh: new Map() };
    this.up.set(net.name, up);
    this.syncKeys(net, up);
    await attachTap(net.vni);
    this.syncTables(net, up);
  }

  /** Hands a changed key ring to the data path (which installs receive keys before switching the sender). */
  private syncKeys(net: NetworkEntry, up: UpNetwork): void {
    const enc = net.encryption;
    if (!enc) return;
    const now = Date.now();
    for (const k of enc.keys) if (!this.keySeen.has(k.tag)) this.keySeen.set(k.tag, now);
    const signature = ringSignature(enc);
    if (up.ring === signature) return;
    this.datapath.setKeys(net.vni, keyringOf(enc));
    up.ring = signature;
    this.log.info({ network: net.name, keys: enc.keys.map((k) => k.tag), sendTag: enc.sendTag }, 'network keys installed');
  }

  private encryptionRequest(req: NetworkCreateRequest): EncryptionRequest {
    if (!this.config.gossipKey) {
      throw new OverlayError(
        'UNSUPPORTED',
        'encrypted networks need encrypted gossip: their keys travel only inside it. Start every overlayd of the cluster with --gossip-key',
      );
    }
    const esp = req.esp ?? {};
    if (esp.carrier !== undefined && esp.carrier !== 'ip' && esp.carrier !== 'udp') throw new OverlayError('BAD_REQUEST', `ESP carrier must be ip or udp, got "${String(esp.carrier)}"`);
    if (esp.keyBits !== undefined && esp.keyBits !== 128 && esp.keyBits !== 256) throw new OverlayError('BAD_REQUEST', `ESP key bits must be 128 or 256, got ${String(esp.keyBits)}`);
    return { carrier: esp.carrier ?? 'ip', keySize: esp.keyBits === 256 ? 32 : 16, esn: esp.esn ?? true };
  }

  /** The overlay MTU of an encrypted network on this host's underlay. */
  private encryptedMtu(enc: EncryptionRequest): number {
    const family = ipFamily(this.config.advertiseAddr) as 4 | 6;
    return encryptedOverlayMtu(this.underlayMtu, family, enc.carrier ?? 'ip', enc.keySize ?? 16);
  }

  /** Where a new outbound SA's sequence numbers start (SequenceCheckpoints). */
  private sequenceStart(id: SaIdentity): number {
    const enc = this.store.networks().find((n) => n.vni === id.vni)?.encryption;
    const key = enc?.keys.find((k) => k.tag === id.keyTag);
    return this.sequences.start(id, key?.created, enc?.esn ?? true);
  }

  /** Persists outbound sequence numbers; asks for a new key when an SA nears the end of its numbers. */
  private checkpointSequences(): void {
    const sas = this.datapath.securityAssociations();
    try {
      const liveTags = new Set(this.store.networks().flatMap((n) => n.encryption?.keys.map((k) => k.tag) ?? []));
      this.sequences.record(sas, liveTags);
      this.sequences.save();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'saving ESP sequence checkpoints failed');
    }
    for (const net of this.store.networks()) {
      const enc = net.encryption;
      if (!enc || !this.up.has(net.name)) continue;
      const limit = enc.esn ? ESN_REKEY_AT : NO_ESN_REKEY_AT;
      const worn = sas.some((s) => s.vni === net.vni && s.direction === 'out' && s.keyTag === enc.sendTag && s.seq >= limit);
      if (worn) this.rotateInBackground(net.name, 'sequence numbers near their end');
    }
  }

  /** Rotates the networks whose sending key is older than the interval, where this node is the rotator. */
  private rotateDueKeys(): void {
    const now = Date.now();
    const alive = (node: string): boolean => node === this.config.name || this.store.memberState(node) === 'alive';
    for (const net of this.store.networks()) {
      const enc = net.encryption;
      if (!enc || !rotationDue(enc, this.config.keyRotationIntervalS * 1000, now)) continue;
      const holders = [...new Set(this.store.endpoints(net.name).map((e) => e.owner)), this.config.name];
      if (scheduledRotator(net.owner, holders, alive) !== this.config.name) continue;
      this.rotateInBackground(net.name, 'scheduled');
    }
  }

  private rotateInBackground(name: string, why: string): void {
    if (this.rotating.has(name)) return;
    this.rotating.add(name);
    this.log.info({ network: name, why }, 'rotating network key');
    this.rotateKey(name)
      .catch((err: Error) => this.log.error({ network: name, err: err.message }, 'key rotation failed'))
      .finally(() => this.rotating.delete(name));
  }

  /** Wireshark's esp_sa records of the network's SAs on this host. */
  private espSaExport(enc: NetworkEncryptionEntry, sas: SaInfo[]): string {
    const ring = keyringOf(enc);
    const local = parseIp(this.config.advertiseAddr);
    const derived = sas.flatMap((s) => {
      const key = ring.keys.find((k) => k.tag === s.keyTag);
      if (!key) return [];
      const peer = parseIp(s.peer);
      const [src, dst] = s.direction === 'out' ? [local, peer] : [peer, local];
      return [deriveSa({ key, src, dst, keySize: enc.keySize })];
    });
    return espSaUatFile(derived);
  }

  private async tearDown(name: string): Promise<void> {
    const up = this.up.get(name);
    if (!up) return;
    this.datapath.removeNetwork(up.vni);
    this.up.delete(name);
    await removeNetworkLinks(up.vni);
  }

  /** Brings the data path's FDB and neighbour table of `net` to what the store says. */
  private syncTables(net: NetworkEntry, have: UpNetwork): void {
    const fdb = new Map<string, string>();
    const neigh = new Map<string, string>();
    for (const p of this.store.peers.values()) {
      if (p.network !== net.name) continue;
      fdb.set(p.mac, p.vtep);
      neigh.set(p.ip, p.mac);
    }
    // Earlier claims first: while an address is claimed twice, the earlier claim answers.
    const remote = this.store.endpoints(net.name).filter((e) => e.owner !== this.config.name);
    remote.sort((a, b) => a.created - b.created || a.owner.localeCompare(b.owner));
    for (const e of remote) {
      fdb.set(e.mac, e.vtep);
      for (const ip of e.ips) if (!neigh.has(ip)) neigh.set(ip, e.mac);
    }
    for (const [mac] of have.fdb) if (!fdb.has(mac)) this.datapath.fdbDelete(net.vni, mac);
    for (const [ip] of have.neigh) if (!neigh.has(ip)) this.datapath.neighDelete(net.vni, ip);
    for (const [mac, vtep] of fdb) if (have.fdb.get(mac) !== vtep) this.datapath.fdbSet(net.vni, mac, vtep);
    for (const [ip, mac] of neigh) if (have.neigh.get(ip) !== mac) this.datapath.neighSet(net.vni, ip, mac);
    have.fdb = fdb;
    have.neigh = neigh;
  }

  private withPrefixes(net: NetworkEntry, ips: string[]): string[] {
    const cidrs = net.subnets.map(parseCidr);
    return ips.map((ip) => `${ip}/${cidrs.find((c) => c.family === ipFamily(ip))!.prefix}`);
  }

  private selectNetworks(name?: string): NetworkEntry[] {
    return name === undefined ? this.store.networks() : [this.store.network(name)];
  }

  /** After a restart: endpoints whose container went away while we were down are removed. */
  private async forgetVanishedEndpoints(): Promise<void> {
    for (const ep of this.store.localEndpoints()) {
      if (await linkExists(hostVethName(ep.id))) continue;
      this.store.commitEndpointRemoval(ep.id);
      this.note(`endpoint ${ep.id.slice(0, 12)} removed: its interface is gone (container ${ep.netns} stopped while the agent was down)`);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

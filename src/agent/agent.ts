/**
 * The composition root: one agent per host. It owns the overlay store, the
 * gossip node, the data path and the host plumbing, and keeps them in step:
 *
 *   overlayctl ─► validate (store) ─► host plumbing ─► commit ─► announce (gossip)
 *   gossip ─► merge (store) ─┐
 *   member up/down ──────────┴► reconcile: settle conflicts, bring networks
 *                               up/down, detach what was removed, set tables
 *
 * This file wires the parts and runs their lifecycle; the work is in
 * reconcile.ts (host state following the store), keys.ts (encrypted
 * networks), membership.ts (gossip), capture.ts (pcap sessions) and views.ts
 * (listings). The operations front-ends call are the AgentOperations of
 * operations.ts.
 *
 * Everything that changes the host runs one at a time (`serial`).
 */
import { pino, type Logger } from 'pino';
import { OverlayStore, canonicalIp, toEndpointRecord, toNetworkRecord, type EndpointRecord, type NetworkRecord, type PeerRecord } from '../cluster/store.js';
import { OverlayError } from '../cluster/errors.js';
import type { EndpointRuntime } from '../cluster/entries.js';
import { ClusterSync } from '../cluster/sync.js';
import { createDatapath } from '../dataplane/index.js';
import type { Datapath } from '../dataplane/datapath.js';
import { CaptureSessions, type CaptureOptions } from './capture.js';
import { attachContainer, createMovableVeth, detachContainer, resolveNetns } from '../host/links.js';
import { overlayMtu, underlayInterface } from '../host/mtu.js';
import { ipFamily } from '../wire/index.js';
import { CHECKPOINT_INTERVAL_MS } from './encryption.js';
import { snoopingTimings, type AgentConfig } from './config.js';
import { GroupMembership } from './group-membership.js';
import { loadState, saveState } from './state-file.js';
import { withPrefixes, type AgentContext } from './context.js';
import { Reconciler } from './reconcile.js';
import { ClusterMembership } from './membership.js';
import { NetworkKeys } from './keys.js';
import { AgentViews } from './views.js';
import { PerfTests } from './perf/perf.js';
import { PeerHealth, type PeerRow } from './peer-health.js';
import { EventLog } from './events.js';
import { ControlEvents } from './control-events.js';
import { dropEvent } from './drop-events.js';
import type { DropReason } from '../dataplane/datapath.js';
import { NodeIdentity, type IdentityStatus } from './identity.js';
import { runTrace, type TraceReport, type TraceRequest } from './trace.js';
import { runDoctor, type DoctorReport } from './doctor.js';
import type { AgentCounters, AgentOperations, PerfReport, PerfRequest, EndpointAttachRequest, FdbRow, GroupRow, KeysReport, MemberRow, MovableEndpoint, MovableEndpointRequest, NeighRow, NetworkCreateRequest } from './operations.js';

export type { AgentEvent, AgentOperations, EndpointAttachRequest, FdbRow, KeysReport, NeighRow, NetworkCreateRequest } from './operations.js';
export { KEY_SETTLE_MS } from './keys.js';

const REAP_INTERVAL_MS = 60_000;
/**
 * How often dead members are tried again. memberlist gossips to the dead only
 * for 30 s; without this, two sides of a longer partition would never meet
 * again (Serf and NetworkDB retry failed nodes the same way).
 */
const RECONNECT_INTERVAL_MS = 10_000;
/** Changes learnt from gossip are written to the state file at most this often. */
const SAVE_DELAY_MS = 200;
/** How often the schedule of key rotations is looked at. */
const ROTATION_CHECK_MS = 30_000;

export class Agent implements AgentOperations {
  readonly store: OverlayStore;
  readonly log: Logger;
  private readonly sync: ClusterSync;
  private readonly ctx: AgentContext;
  private readonly reconciler: Reconciler;
  private readonly netKeys: NetworkKeys;
  private readonly captures: CaptureSessions;
  private readonly views: AgentViews;
  private readonly membership: ClusterMembership;
  private readonly perfTests: PerfTests;
  private readonly identity: NodeIdentity;
  private readonly peerHealth: PeerHealth;
  private readonly groupMembership: GroupMembership;
  private reapTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private defaultMtu = 1450;
  private readonly startedAt = Date.now();
  /** What happened (`overlayctl events`): drop, member, network, endpoint, key, peer, note and identity events. */
  readonly events = new EventLog();
  private readonly controlEvents: ControlEvents;
  /** Serialises changes: one state change (with its host plumbing) at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private reconcilePending = false;
  private saveTimer?: NodeJS.Timeout;
  private checkpointTimer?: NodeJS.Timeout;
  private rotationTimer?: NodeJS.Timeout;

  constructor(
    readonly config: AgentConfig,
    log?: Logger,
  ) {
    this.log = log ?? pino({ level: config.logLevel }, pino.destination(2));
    this.store = new OverlayStore(config.name, config.advertiseAddr);
    this.sync = new ClusterSync(this.store, (msg, fields) => this.log.warn(fields ?? {}, msg));
    this.ctx = {
      config,
      store: this.store,
      log: this.log,
      datapath: undefined as unknown as Datapath, // created in start()
      up: new Map(),
      events: this.events,
      note: (message) => this.note(message),
    };
    this.netKeys = new NetworkKeys(this.ctx, (fn) => this.serial(fn), () => this.reconciler.reconcile());
    this.groupMembership = new GroupMembership(this.ctx, snoopingTimings(config));
    this.reconciler = new Reconciler(this.ctx, (net, up) => this.netKeys.syncKeys(net, up), this.groupMembership);
    this.membership = new ClusterMembership(config, this.log, this.sync);
    this.identity = new NodeIdentity(this.ctx, this.sync);
    this.captures = new CaptureSessions(this.ctx);
    this.perfTests = new PerfTests(this.ctx, { attach: (req) => this.attachEndpoint(req), detach: (id) => this.detachEndpoint(id) });
    this.peerHealth = new PeerHealth(this.ctx, (node) => this.memberAlive(node));
    this.views = new AgentViews(this.ctx, {
      sync: this.sync,
      startedAt: this.startedAt,
      gossip: () => this.membership.node,
      defaultMtu: () => this.defaultMtu,
      identity: () => this.identity.status(),
      probes: () => this.peerHealth.stats,
      snooping: () => this.groupMembership.stats,
    });
    this.controlEvents = new ControlEvents(this.ctx, () => this.views.members());
  }

  async start(): Promise<void> {
    await this.identity.start();
    const family = ipFamily(this.config.advertiseAddr) as 4 | 6;
    const underlay = await underlayInterface(this.config.advertiseAddr);
    this.defaultMtu = overlayMtu(underlay.mtu, family);
    this.netKeys.start(underlay.mtu);
    const datapath = await createDatapath(this.config.datapath, {
      bindAddress: this.config.listenAddr,
      dataPort: this.config.dataPort,
      vtepAddress: this.config.advertiseAddr,
      espPort: this.config.espPort,
      workers: this.config.workers,
      busyPollUs: this.config.busyPollUs,
      realtimeWorker: this.config.realtimeWorkers,
      sequenceStart: (id) => this.netKeys.sequenceStart(id),
      windowStart: (id) => this.netKeys.windowStart(id),
    });
    this.ctx.datapath = datapath;
    datapath.setDropListener((sample) => this.events.emit(dropEvent(sample, (vni) => this.store.networks().find((n) => n.vni === vni)?.name)));
    await datapath.start();
    const saved = loadState(this.config.stateDir);
    if (saved) this.store.load(saved);
    this.controlEvents.start();
    this.identity.resume(saved?.identity);
    await this.reconciler.forgetVanishedEndpoints();
    await this.perfTests.forgetLeftovers();
    // Our own changes are on disk before the operator hears back; what gossip brings is saved in batches.
    this.store.on('local', () => this.saveNow());
    this.store.on('change', () => {
      this.saveSoon();
      this.scheduleReconcile();
      this.perfTests.onStoreChange();
    });
    await this.serial(() => this.reconciler.reconcile());
    this.groupMembership.start();
    await this.membership.start();
    this.peerHealth.start(this.config.peerProbeIntervalS === undefined ? undefined : this.config.peerProbeIntervalS * 1000);
    // Re-announce our endpoints: peers that saw us leave forgot them.
    for (const ep of this.store.localEndpoints()) this.store.commitEndpoint(ep);
    this.saveNow();
    this.reapTimer = setInterval(() => this.store.reapTombstones(), REAP_INTERVAL_MS).unref();
    this.reconnectTimer = setInterval(() => this.membership.reconnectDead(), RECONNECT_INTERVAL_MS).unref();
    this.checkpointTimer = setInterval(() => this.netKeys.checkpointSequences(), CHECKPOINT_INTERVAL_MS).unref();
    if (this.config.keyRotationIntervalS > 0) {
      const every = Math.min(ROTATION_CHECK_MS, (this.config.keyRotationIntervalS * 1000) / 4);
      this.rotationTimer = setInterval(() => this.netKeys.rotateDueKeys(), every).unref();
    }
    this.log.info(
      { name: this.config.name, advertise: this.config.advertiseAddr, datapath: datapath.kind, underlay: underlay.ifname, mtu: this.defaultMtu },
      'agent started',
    );
  }

  /**
   * Leaves the cluster gracefully (peers see this node as left), then stops
   * forwarding; bridges, TAPs and containers stay so a restart picks them up.
   */
  async stop(): Promise<void> {
    clearInterval(this.reapTimer);
    clearInterval(this.reconnectTimer);
    clearInterval(this.checkpointTimer);
    clearInterval(this.rotationTimer);
    this.controlEvents.stop();
    this.identity.stop();
    this.peerHealth.stop();
    this.groupMembership.stop();
    await this.perfTests.stop();
    if (this.saveTimer) this.saveNow();
    await this.membership.stop();
    if (this.ctx.datapath) this.netKeys.checkpointSequences();
    await this.ctx.datapath?.stop();
  }

  // ---- operations (AgentOperations: the control API calls these) ----------

  createNetwork(req: NetworkCreateRequest): Promise<NetworkRecord> {
    return this.serial(async () => {
      const encryption = req.encrypted ? this.netKeys.encryptionRequest(req) : undefined;
      const mtu = req.mtu ?? (encryption ? this.netKeys.encryptedMtu(encryption) : this.defaultMtu);
      const net = this.store.commitNetwork(this.store.prepareNetwork({ ...req, mtu, encryption }));
      this.log.info({ network: net.name, vni: net.vni, subnets: net.subnets, mtu: net.mtu, encrypted: net.encrypted, multicast: net.multicast }, 'network created');
      return toNetworkRecord(net);
    });
  }

  /**
   * One rotation step of an encrypted network's keys (network-keys.ts), on
   * demand. Waits until the key it promotes has been here KEY_SETTLE_MS (so
   * every live node holds it), and returns once this host sends with it.
   */
  rotateKey(name: string): Promise<KeysReport> {
    return this.netKeys.rotateKey(name);
  }

  /** The key ring and SAs of an encrypted network; with `secrets`, the keys too (the API allows it to root only). */
  trace(req: TraceRequest): TraceReport {
    return runTrace(this.ctx, req);
  }

  keys(name: string, secrets: boolean): KeysReport {
    return this.netKeys.keys(name, secrets);
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
      await this.reconciler.bringUp(net);
      await attachContainer({ endpointId: ep.id, vni: net.vni, nsPath, ifname: ep.ifname, mac: ep.mac, mtu: net.mtu, addresses: withPrefixes(net, ep.ips) });
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

  reserveAddress(network: string, ip?: string, family: 4 | 6 = 4, ttlMs?: number): Promise<string> {
    return this.serial(async () => this.store.reserveAddress(network, ip, family, ttlMs));
  }

  releaseAddress(network: string, ip: string): Promise<void> {
    return this.serial(async () => {
      this.store.network(network); // NETWORK_NOT_FOUND for a name it does not know
      this.store.reservations.release(network, canonicalIp(ip));
    });
  }

  attachMovableEndpoint(req: MovableEndpointRequest): Promise<MovableEndpoint> {
    return this.serial(async () => {
      const ep = this.store.prepareEndpoint({ network: req.network, ips: req.ips, netns: '', runtime: req.runtime, container: req.container, reserved: true });
      const net = this.store.network(ep.network);
      await this.reconciler.bringUp(net);
      const ifname = await createMovableVeth({ endpointId: ep.id, vni: net.vni, mac: ep.mac, mtu: net.mtu });
      const done = this.store.commitEndpoint(ep);
      this.log.info({ endpoint: ep.id, network: ep.network, ips: ep.ips, runtime: req.runtime, container: req.container }, 'endpoint attached');
      return { endpoint: toEndpointRecord(done), ifname, mtu: net.mtu };
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

  // ---- listings (views.ts) ----

  status(): Record<string, unknown> { return this.views.status(); }
  networks(): NetworkRecord[] { return this.views.networks(); }
  network(name: string): NetworkRecord { return this.views.network(name); }
  endpoints(network?: string): EndpointRecord[] { return this.views.endpoints(network); }
  movableEndpoint(runtime: EndpointRuntime, container: string): MovableEndpoint { return this.views.movableEndpoint(runtime, container); }
  fdbRows(network?: string): FdbRow[] { return this.views.fdbRows(network); }
  neighRows(network?: string): NeighRow[] { return this.views.neighRows(network); }
  groupRows(network?: string): GroupRow[] { return this.views.groupRows(network); }
  /** Cluster members as gossip sees them, this node included. */
  members(): MemberRow[] { return this.views.members(); }
  counters(): AgentCounters { return this.views.counters(); }
  dropsByNetwork(): Record<string, Record<DropReason, number>> { return this.views.dropsByNetwork(); }
  dropSamplesLost(): number { return this.ctx.datapath.dropSamplesLost; }
  /** Data-path health of each remote VTEP, from the probes (peer-health.ts). */
  peers(network?: string): PeerRow[] {
    if (network !== undefined) this.store.network(network); // NETWORK_NOT_FOUND
    return this.peerHealth.rows(network);
  }

  /**
   * Starts mirroring a network's frames as pcap: `write` gets the header, then
   * one record per frame, then `end` is called when the count or duration is
   * reached. Returns a function that stops early (the client went away).
   */
  startCapture(network: string, opts: CaptureOptions, write: (chunk: Buffer) => void, end: () => void): () => void {
    return this.captures.startCapture(network, opts, write, end);
  }

  /** `overlayctl cert reload` (identity.ts). */
  reloadCertificate(): Promise<IdentityStatus> {
    return this.serial(async () => this.identity.reload());
  }

  /** `overlayctl ca publish`: a revocation signed by the CA (identity.ts). */
  publishRevocation(raw: unknown): Promise<{ revoked: string; name: string; fresh: boolean }> {
    return this.serial(async () => {
      const r = this.identity.publish(raw);
      this.saveNow();
      return r;
    });
  }

  perf(req: PerfRequest): Promise<PerfReport> {
    return this.perfTests.run(req);
  }

  doctor(): Promise<DoctorReport> {
    return runDoctor(this.ctx, {
      members: () => this.views.members(),
      identity: () => this.identity.status(),
      peerHealth: { peers: () => this.peerHealth.rows() },
    });
  }

  // ---- lifecycle helpers --------------------------------------------------

  private scheduleReconcile(): void {
    if (this.reconcilePending) return;
    this.reconcilePending = true;
    void this.serial(async () => {
      this.reconcilePending = false;
      await this.reconciler.reconcile();
    }).catch((err: Error) => this.log.error({ err: err.message }, 'reconcile failed'));
  }

  private saveNow(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    saveState(this.config.stateDir, { ...this.store.snapshot(), identity: this.identity.documents() });
  }

  private saveSoon(): void {
    this.saveTimer ??= setTimeout(() => this.saveNow(), SAVE_DELAY_MS);
  }

  private memberAlive(node: string): boolean {
    return this.membership.node?.members().some((m) => m.name === node && (m.state === 'alive' || m.state === 'suspect')) ?? false;
  }

  private note(message: string): void {
    this.events.emit({ type: 'note', summary: message });
    this.log.warn(message);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

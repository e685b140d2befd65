/**
 * The operations of an overlayd agent, as its front-ends call them. The
 * control API (api.ts) is their one front-end: overlayctl, the CNI plugin
 * (src/cni/) and the Docker plugin (src/docker-plugin/) are its clients, so
 * every one gets the same validation, host plumbing and gossip. The Agent
 * (agent.ts) implements it.
 */
import type { Logger } from 'pino';
import type { EndpointRecord, NetworkRecord, PeerRecord } from '../cluster/store.js';
import type { EndpointRuntime } from '../cluster/entries.js';
import type { EspCarrierName } from '../cluster/network-keys.js';
import type { DatapathCounters, WorkerCounters } from '../dataplane/datapath.js';
import type { NodeInfo } from '../gossip/index.js';
import type { CaptureOptions } from './capture.js';
import type { EventLog } from './events.js';
import type { TraceReport, TraceRequest } from './trace.js';
import type { DoctorReport } from './doctor-report.js';
import type { PeerRow, ProbeStats } from './peer-health.js';
import type { SnoopingStats } from './group-membership.js';


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

/**
 * Rows of `overlayctl groups --json` (docs/multicast.md "overlayctl groups"):
 * one per (network, group) with a member anywhere.
 */
export interface GroupRow {
  network: string;
  vni: number;
  /** The group address, canonical. */
  group: string;
  /** The group's Ethernet address: what the data path's group table is keyed by. */
  mac: string;
  /**
   * Who listens: an endpoint of a node (`node`, `endpoint` id, its host's
   * `vtep`), or a static peer configured for the group (`node` and
   * `endpoint` null, its `vtep` and overlay `ip`).
   */
  members: { node: string | null; endpoint: string | null; vtep: string; ip?: string }[];
  /**
   * The VTEPs this host's data path sends the group's frames to (its group
   * table's entry for `mac`, shared by the groups of that MAC); empty when
   * this host has no endpoint on the network or no other host listens.
   */
  vteps: string[];
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
  /** Replicate broadcast and multicast (docs/multicast.md; default off). */
  multicast?: boolean;
  /** With `multicast`: storm control in replicated frames/s (default DEFAULT_MULTICAST_RATE; 0: no limit). */
  multicastRate?: number;
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
  /**
   * Only with --show-secrets, for root. `espSa`: an esp_sa record per SA held;
   * `espSaRing`: every key of the ring, both directions, with every peer VTEP
   * — all a capture may meet (`capture --outer --esp-sa`).
   */
  secrets?: { keys: { tag: number; material: string }[]; espSa: string; espSaRing: string };
}

export interface EndpointAttachRequest {
  network: string;
  netns: string;
  ips?: string[];
  ifname?: string;
  /** Who asks: a runtime's plugin, or an operator (default manual). */
  runtime?: EndpointRuntime;
  /** The runtime's id of the container (shown by `endpoint ls`). */
  container?: string;
}

/** An endpoint whose container end the runtime moves itself (Docker's remote driver). */
export interface MovableEndpointRequest {
  network: string;
  /** Addresses held for it by `reserveAddress` (Docker's IPAM). */
  ips: string[];
  runtime: EndpointRuntime;
  /** The runtime's id for it (Docker: the endpoint id). */
  container: string;
}

/** What `attachMovableEndpoint` made: the endpoint, and the interface the runtime is to move. */
export interface MovableEndpoint {
  endpoint: EndpointRecord;
  /** The veth end waiting in the agent's namespace, with the endpoint's MAC and the MTU set. */
  ifname: string;
  mtu: number;
}

/** What `POST /v1/networks/:name/perf` takes. */
export interface PerfRequest {
  network: string;
  /** The node (its gossip name) whose agent answers. */
  to: string;
  /** Length of the throughput run, 1..60 s (default 5). */
  seconds?: number;
  /** Parallel TCP streams, 1..16 (default 1). */
  streams?: number;
  /** The other node sends and this host receives (iperf3's -R); default: this host sends to it. */
  reverse?: boolean;
}

/** `overlayctl perf --json` (field names are a contract). */
export interface PerfReport {
  network: string;
  vni: number;
  encrypted: boolean;
  from: string;
  to: string;
  /** The test endpoints' addresses, here and there. */
  localIp: string;
  remoteIp: string;
  seconds: number;
  streams: number;
  /** Which way the TCP streams went, seen from this host: `send` (from → to, the default) or `receive` (to → from, reverse). */
  direction: 'receive' | 'send';
  bytes: number;
  gbps: number;
  /** TCP segments per second (bytes over the MSS of the network's MTU). */
  segmentsPerSec: number;
  mss: number;
  probes: number;
  rttP50Ms: number;
  rttP99Ms: number;
  rttMinMs: number;
  rttMaxMs: number;
  lossPct: number;
  /** From the request to the first echo: namespaces, endpoints, gossip both ways. */
  setupMs: number;
}

/** Something the agent did on its own that an operator should know about. */
export interface AgentEvent {
  time: string;
  message: string;
}

/** A cluster member as `overlayctl members` shows it. */
export type MemberRow = Pick<NodeInfo, 'name' | 'addr' | 'port' | 'state' | 'incarnation'>;

/** The data path's counters and the cluster's rejections (`overlayctl stats`, metrics). */
export type AgentCounters = DatapathCounters & {
  /** Native path: each worker thread's share. */
  workers?: WorkerCounters[];
  /** What the VTEP probes did (`overlayctl peers`). */
  probes: ProbeStats;
  /** What the multicast snooping heard and sent (group-membership.ts). */
  snooping: SnoopingStats;
  cluster: { rejected: Record<string, number>; badMessages: number };
};

/**
 * What a front-end may ask of the agent. Changes run one at a time on the
 * agent and resolve once the host is plumbed and the change is committed
 * (and so announced to the cluster); errors are OverlayErrors with a code.
 */
export interface AgentOperations {
  /** Where a front-end logs a call that failed unexpectedly. */
  readonly log: Pick<Logger, 'error'>;
  /** What happened (`GET /v1/events`, events-api.ts). */
  readonly events: EventLog;

  // ---- changes
  createNetwork(req: NetworkCreateRequest): Promise<NetworkRecord>;
  /** Detaches this host's endpoints on it first; `force` removes it even while other hosts have endpoints on it. */
  removeNetwork(name: string, force: boolean): Promise<void>;
  attachEndpoint(req: EndpointAttachRequest): Promise<EndpointRecord>;
  detachEndpoint(id: string): Promise<EndpointRecord>;
  /**
   * Holds an address of `network` on this host for an endpoint about to be
   * created (Docker's RequestAddress): `ip` pins it, else one of `family` is
   * allocated (addresses.ts). Held until taken by an endpoint, released, or
   * `ttlMs` passes (default 5 min; Infinity for a gateway).
   */
  reserveAddress(network: string, ip?: string, family?: 4 | 6, ttlMs?: number): Promise<string>;
  /** Lets a held address go (no-op when it is not held; NETWORK_NOT_FOUND when there is no such network). */
  releaseAddress(network: string, ip: string): Promise<void>;
  /** Creates an endpoint on held addresses whose veth the runtime moves into the container itself. */
  attachMovableEndpoint(req: MovableEndpointRequest): Promise<MovableEndpoint>;
  addPeer(req: PeerRecord): Promise<PeerRecord>;
  removePeer(network: string, ip: string): Promise<PeerRecord>;
  /** One on-demand rotation step of an encrypted network's keys. */
  rotateKey(name: string): Promise<KeysReport>;
  /** Reads --cert and --key again and re-signs what this node owns (docs/identity.md). */
  reloadCertificate(): Promise<unknown>;
  /** Takes a revocation signed by the cluster CA and spreads it. */
  publishRevocation(raw: unknown): Promise<unknown>;

  // ---- listings
  status(): Record<string, unknown>;
  counters(): AgentCounters;
  networks(): NetworkRecord[];
  network(name: string): NetworkRecord;
  endpoints(network?: string): EndpointRecord[];
  /** This host's endpoint that `runtime` knows as `container`, made by attachMovableEndpoint (ENDPOINT_NOT_FOUND when none). */
  movableEndpoint(runtime: EndpointRuntime, container: string): MovableEndpoint;
  fdbRows(network?: string): FdbRow[];
  neighRows(network?: string): NeighRow[];
  /** Multicast groups with a member anywhere, and this host's replication list for each (`overlayctl groups`). */
  groupRows(network?: string): GroupRow[];
  members(): MemberRow[];
  /** Data-path health of each remote VTEP this host sends to (`overlayctl peers`, peer-health.ts). */
  peers(network?: string): PeerRow[];
  /** The key ring and SAs of an encrypted network; `secrets` adds the keys (front-ends allow it to root only). */
  keys(name: string, secrets: boolean): KeysReport;
  /** Walks a described packet through this host's data path, nothing sent or counted (`overlayctl trace`, trace.ts). */
  trace(req: TraceRequest): TraceReport;
  /** Mirrors a network's frames as pcap; returns a function that stops early. */
  startCapture(network: string, opts: CaptureOptions, write: (chunk: Buffer) => void, end: () => void): () => void;
  /** A throughput and latency test to another agent's host through the data path (one at a time; perf/perf.ts). */
  perf(req: PerfRequest): Promise<PerfReport>;
  /** Checks what commonly breaks an overlay on this host and in its cluster (`overlayctl doctor`, doctor.ts). */
  doctor(): Promise<DoctorReport>;
}

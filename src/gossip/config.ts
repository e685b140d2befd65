/**
 * Configuration of a {@link Memberlist}, field for field after memberlist's
 * `Config` (durations in milliseconds, names in camelCase). Start from
 * {@link defaultLanConfig} and override what you need.
 */
import type { Keyring } from './wire/index.js';
import type { Clock } from './clock.js';
import type { Transport } from './transport.js';

/** Lowest memberlist protocol version this implementation speaks. */
export const PROTOCOL_VERSION_MIN = 1;
/** Highest memberlist protocol version this implementation understands (5 adds CRC). */
export const PROTOCOL_VERSION_MAX = 5;
/** Largest node meta data a delegate may return. */
export const META_MAX_SIZE = 512;

/** Every knob of a memberlist node. */
export interface Config {
  /** Node name, unique in the cluster. memberlist uses the hostname by default. */
  name: string;
  /**
   * Transport for packets and streams. When absent, a {@link NetTransport}
   * is bound to `bindAddr`:`bindPort`.
   */
  transport?: Transport;
  /** Address to bind the UDP and TCP listeners to ("0.0.0.0", "::", or a host address). */
  bindAddr: string;
  /** Port to bind; 0 picks a free one (then used for both UDP and TCP). */
  bindPort: number;
  /**
   * Address advertised to other nodes (e.g. behind NAT). When empty, the
   * transport picks the bound address (an interface address when bound to any).
   */
  advertiseAddr?: string;
  /** Port advertised to other nodes; defaults to the bound port. */
  advertisePort?: number;
  /**
   * Protocol version we speak (within [PROTOCOL_VERSION_MIN, PROTOCOL_VERSION_MAX]).
   * Version 2 is understood by every memberlist since 0.1; we still advertise
   * that we understand up to 5, so peers may send us CRCs and nacks.
   */
  protocolVersion: number;
  /** Timeout of a stream connection (dial and exchange) for push/pull and reliable user messages. */
  tcpTimeoutMs: number;
  /** Number of peers asked to probe a node indirectly when a direct probe failed. */
  indirectChecks: number;
  /**
   * Retransmissions of every broadcast: RetransmitMult × ceil(log10(N + 1)).
   * Higher makes dissemination more reliable at the cost of bandwidth.
   */
  retransmitMult: number;
  /**
   * Multiplier of the suspicion timeout: SuspicionMult × max(1, log10(N)) × ProbeInterval.
   * Higher gives a suspected node longer to refute before it is declared dead.
   */
  suspicionMult: number;
  /**
   * Upper bound of the suspicion timeout as a multiple of the computed one.
   * The timer starts there and shrinks towards the lower bound as independent
   * peers confirm the suspicion (Lifeguard).
   */
  suspicionMaxTimeoutMult: number;
  /** Period of full state syncs over TCP with one random node; 0 disables. Scaled above 32 nodes. */
  pushPullIntervalMs: number;
  /** Period of failure probes (one node per period, round robin); 0 disables probing. */
  probeIntervalMs: number;
  /** Time to wait for an ack before trying indirect probes; set to the 99th-percentile RTT. */
  probeTimeoutMs: number;
  /** Turns off the TCP fallback ping sent alongside indirect probes. */
  disableTcpPings: boolean;
  /** Turns off the TCP fallback ping for the named nodes only. */
  disableTcpPingsForNode?: (name: string) => boolean;
  /**
   * Lifeguard: the probe interval and timeout are multiplied by (health + 1),
   * health in [0, AwarenessMaxMultiplier − 1], when this node misses acks and
   * nacks, so a slow node does not accuse healthy ones.
   */
  awarenessMaxMultiplier: number;
  /** Period of gossip rounds that send queued broadcasts to `gossipNodes` random nodes; 0 disables. */
  gossipIntervalMs: number;
  /** Number of random nodes each gossip round sends to. */
  gossipNodes: number;
  /** How long dead nodes still receive gossip (helps them refute) and stay in the member table. */
  gossipToTheDeadTimeMs: number;
  /** When encryption is on: drop inbound packets and streams that are not encrypted. */
  gossipVerifyIncoming: boolean;
  /** When encryption is on: encrypt what we send. Turn off (with verify-incoming) to roll encryption out. */
  gossipVerifyOutgoing: boolean;
  /** Compress packets with LZW when that shrinks them, and streams always. */
  enableCompression: boolean;
  /** Shared AES key (16, 24 or 32 bytes); becomes the primary key of `keyring`. */
  secretKey?: Buffer;
  /** Keyring of AES-GCM keys: the primary encrypts, all are tried to decrypt. */
  keyring?: Keyring;
  /** Current version of the delegate's own protocol, carried in Vsn. */
  delegateProtocolVersion: number;
  /** Lowest delegate protocol version we understand. */
  delegateProtocolMin: number;
  /** Highest delegate protocol version we understand. */
  delegateProtocolMax: number;
  /**
   * After this long, a dead node may come back with a new address (0: never;
   * a left node may always).
   */
  deadNodeReclaimTimeMs: number;
  /** Refuse to send to an address without a node name. */
  requireNodeNames: boolean;
  /**
   * CIDRs allowed to join (e.g. "198.18.0.0/15"); empty allows all. Alive
   * messages for other addresses are rejected.
   */
  cidrsAllowed: string[];
  /**
   * Depth of memberlist's queue of alive/suspect/dead/user messages waiting
   * for its handler goroutine. Kept for parity: this port handles every
   * message inline on the one JavaScript thread, so nothing queues.
   */
  handoffQueueDepth: number;
  /** Largest datagram we send; gossip fills packets up to this size. */
  udpBufferSize: number;
  /**
   * Label prefixed to every packet and stream and bound into the encryption
   * (memberlist ≥ 0.3). Empty: no label. Go memberlist 0.2.x does not know labels.
   */
  label: string;
  /** Accept inbound traffic without checking its label. */
  skipInboundLabelCheck: boolean;
  /** Clock driving every timer; the system clock by default. */
  clock?: Clock;
  /** Random source in [0, 1) for shuffles, staggers and peer choice; `Math.random` by default. */
  random?: () => number;
  /** Receives log lines (level, message); silent by default. */
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

/**
 * memberlist's DefaultLANConfig: tuned for a LAN where nodes answer within
 * 500 ms. A kill -9'd node is declared dead after about 5–6 s.
 */
export function defaultLanConfig(): Config {
  return {
    name: '',
    bindAddr: '0.0.0.0',
    bindPort: 7946,
    protocolVersion: 2, // ProtocolVersion2Compatible: the newest every peer understands
    tcpTimeoutMs: 10_000, // Timeout after 10 seconds
    indirectChecks: 3, // Use 3 nodes for the indirect ping
    retransmitMult: 4, // Retransmit a message 4 * log(N+1) nodes
    suspicionMult: 4, // Suspect a node for 4 * log(N+1) * Interval
    suspicionMaxTimeoutMult: 6, // For 10k nodes this gives a max timeout of 120 seconds
    pushPullIntervalMs: 30_000, // Low frequency
    probeIntervalMs: 1_000, // Failure check every second
    probeTimeoutMs: 500, // Reasonable RTT time for LAN
    disableTcpPings: false, // TCP pings are safe, even with mixed versions
    awarenessMaxMultiplier: 8, // Probe interval backs off to 8 seconds
    gossipIntervalMs: 200, // Gossip more rapidly
    gossipNodes: 3, // Gossip to 3 nodes
    gossipToTheDeadTimeMs: 30_000, // Same as push/pull
    gossipVerifyIncoming: true,
    gossipVerifyOutgoing: true,
    enableCompression: true, // Enable compression by default
    delegateProtocolVersion: 0,
    delegateProtocolMin: 0,
    delegateProtocolMax: 0,
    deadNodeReclaimTimeMs: 0,
    requireNodeNames: false,
    cidrsAllowed: [], // same as allow all
    handoffQueueDepth: 1024,
    udpBufferSize: 1400,
    label: '',
    skipInboundLabelCheck: false,
  };
}

/** memberlist's DefaultWANConfig: slower timers for links with higher latency and loss. */
export function defaultWanConfig(): Config {
  return {
    ...defaultLanConfig(),
    tcpTimeoutMs: 30_000,
    suspicionMult: 6,
    pushPullIntervalMs: 60_000,
    probeTimeoutMs: 3_000,
    probeIntervalMs: 5_000,
    gossipNodes: 4, // Gossip less frequently, but to an additional node
    gossipIntervalMs: 500,
    gossipToTheDeadTimeMs: 60_000,
  };
}

/** memberlist's DefaultLocalConfig: a loopback or very fast LAN. */
export function defaultLocalConfig(): Config {
  return {
    ...defaultLanConfig(),
    tcpTimeoutMs: 1_000,
    indirectChecks: 1,
    retransmitMult: 2,
    suspicionMult: 3,
    pushPullIntervalMs: 15_000,
    probeTimeoutMs: 200,
    probeIntervalMs: 1_000,
    gossipIntervalMs: 100,
    gossipToTheDeadTimeMs: 15_000,
  };
}

/** The six version bytes a node advertises: [pmin, pmax, pcur, dmin, dmax, dcur]. */
export function buildVsn(c: Config): Buffer {
  return Buffer.from([
    PROTOCOL_VERSION_MIN, PROTOCOL_VERSION_MAX, c.protocolVersion,
    c.delegateProtocolMin, c.delegateProtocolMax, c.delegateProtocolVersion,
  ]);
}

/** True when the configuration asks for encryption (a keyring with a primary key). */
export function encryptionEnabled(c: Config): boolean {
  return c.keyring !== undefined && c.keyring.keys().length > 0;
}

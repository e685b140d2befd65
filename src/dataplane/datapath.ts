/**
 * The contract both forwarding paths implement: the native fast path
 * (native/, wrapped by ./native.ts) and the TypeScript reference path
 * (./js-datapath.ts). docs/datapath.md says what happens to a frame; this file
 * says how the rest of overlayd drives a path.
 */
import type { CaptureSpec } from './capture-spec.js';
import type { AesKeySize, EspCarrier, KeyringState } from '../crypto/index.js';
import type { MulticastSettings } from './multicast/settings.js';

/** Drop reasons, in counter-layout order. Names are stable (stats --json). */
export const DROP_REASONS = [
  'malformed',
  'no_network',
  'arp_other',
  'arp_unknown',
  'nd_other',
  'nd_dad',
  'nd_unknown',
  'broadcast',
  'multicast',
  'no_fdb',
  'too_big',
  'bad_vxlan',
  'unknown_vni',
  'unknown_vtep',
  'spoofed_src',
  'tap_write',
  'udp_send',
  'punt_overflow',
  // encrypted networks (docs/datapath.md "Encrypted networks")
  'no_sa',
  'plaintext_on_encrypted',
  'esp_truncated',
  'esp_bad_spi',
  'esp_replay',
  'esp_bad_icv',
  'esp_bad_padding',
  'esp_too_old',
  'esp_wrong_vni',
  // multicast networks (docs/multicast.md): storm control held a replicated frame back
  'multicast_rate',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Event counters other than drops, in counter-layout order. */
export const EVENT_COUNTERS = [
  'tx_packets',
  'tx_bytes',
  'rx_packets',
  'rx_bytes',
  'arp_replies',
  'nd_replies',
  'icmp_errors',
  'fragments',
  // multicast networks (docs/multicast.md)
  'mcast_frames',
  'mcast_copies',
  'mcast_rx',
] as const;
export type EventCounter = (typeof EVENT_COUNTERS)[number];

/** Slot of a counter in the flat layout: events first, then drops. */
export const COUNTER_SLOTS = EVENT_COUNTERS.length + DROP_REASONS.length;
export const dropSlot = (reason: DropReason): number => EVENT_COUNTERS.length + DROP_REASONS.indexOf(reason);

export interface DatapathCounters {
  tx: { packets: number; bytes: number };
  rx: { packets: number; bytes: number };
  arpReplies: number;
  ndReplies: number;
  icmpErrors: number;
  fragments: number;
  /**
   * Multicast networks: broadcast and multicast frames replicated (`frames`,
   * once per frame), the copies sent for them (`copies`, also in tx), and
   * broadcast/multicast frames admitted from other VTEPs (`rx`, also in rx).
   */
  multicast: { frames: number; copies: number; rx: number };
  /** Every reason, zero included, so scripts can rely on the keys. */
  drops: Record<DropReason, number>;
}

/** One native worker's share of {@link DatapathCounters} (tx: TAP → underlay, rx: underlay → TAP), to see the load spread. */
export interface WorkerCounters {
  worker: number;
  tx: { packets: number; bytes: number };
  rx: { packets: number; bytes: number };
  drops: number;
}

/** Turns a flat counter array (layout above) into the structured form. */
export function countersFromSlots(slots: ArrayLike<number | bigint>): DatapathCounters {
  const at = (i: number): number => Number(slots[i]);
  const drops = {} as Record<DropReason, number>;
  DROP_REASONS.forEach((r, i) => (drops[r] = at(EVENT_COUNTERS.length + i)));
  return {
    tx: { packets: at(0), bytes: at(1) },
    rx: { packets: at(2), bytes: at(3) },
    arpReplies: at(4),
    ndReplies: at(5),
    icmpErrors: at(6),
    fragments: at(7),
    multicast: { frames: at(8), copies: at(9), rx: at(10) },
    drops,
  };
}

/**
 * The stages of the two stage lists, egress then ingress, in their order
 * (docs/datapath.md; process.ts, native/pipeline/egress.c and ingress.c),
 * without the I/O stages: what a trace names. Index = the native enum dp_stage.
 */
export const TRACE_STAGES = ['parse', 'proxy', 'lookup', 'size', 'encapsulate', 'seal', 'open', 'decapsulate', 'admit'] as const;
export type TraceStage = (typeof TRACE_STAGES)[number];

/**
 * What one traced frame did (`processEgress(…, true)`, `processIngress(…,
 * true)`, `traceEsp`): the same stages as real traffic, counted in a scratch
 * block, nothing sealed, opened or moved in an SA.
 */
export interface FrameTrace {
  /** The stage that decided: the one that dropped it, or the last one it passed. */
  stage: TraceStage;
  /** Set when `stage` dropped it. */
  drop?: DropReason;
  /**
   * Egress of a broadcast or multicast frame on a multicast network: the
   * replication list, every VTEP a copy would go to (canonical text, sorted);
   * `vtep` is then its first. Empty when no VTEP wants it (dropped: multicast).
   */
  vteps?: string[];
  /** Egress: the VTEP the FDB gave (also on a drop after lookup, e.g. no_sa, too_big). */
  vtep?: string;
  /** Egress: the flow hash of the inner packet (the outer source port follows it). */
  flowHash?: number;
  /** Egress: VXLAN payloads that would be sent (fragments: more than one). */
  pieces: number;
  /** Egress: length of the first VXLAN payload (header and frame or first fragment). */
  payloadLen: number;
  /** Length of the frame written back to the TAP (ARP/ND reply, ICMP error); 0: none. */
  replyLen: number;
  /** Egress on an encrypted network: the outbound SA and the sequence number a seal would use. Ingress ESP: the inbound SA and its window's top. */
  sa?: { spi: number; seq: number };
}

/**
 * One datagram to send: a VXLAN payload (VXLAN header + inner frame) to the
 * data port, or — on an encrypted network — an ESP packet (SPI to ICV) on the
 * network's carrier.
 */
export interface EncapOutput {
  /** Underlay address of the receiving VTEP. */
  vtep: string;
  /** Flow hash of the inner packet; picks the source socket (outer source port). */
  flowHash: number;
  payload: Buffer;
  /** Set when `payload` is an ESP packet: how it travels (IP protocol 50 or ESP-in-UDP). */
  carrier?: EspCarrier;
}

/** What the path decided for one frame read from a TAP. */
export interface EgressResult {
  /** VXLAN payloads to send, in order (several when fragmenting). */
  out: EncapOutput[];
  /** Frames written back into the TAP (ARP/ND replies, ICMP errors). */
  reply: Buffer[];
  /** Set when the frame was dropped (a too-big frame can be dropped *and* answered). */
  drop?: DropReason;
  /**
   * Multicast networks: the frame is an IGMP or MLD message (rule 1 of
   * MulticastSettings), handed to the membership listener, not sent.
   */
  membership?: true;
  /** Set for a traced frame. */
  trace?: FrameTrace;
}

/** What the path decided for one datagram received on the data port. */
export interface IngressResult {
  /** Set with `frame` when the inner frame goes to the TAP of this VNI. */
  vni?: number;
  frame?: Buffer;
  /** Set when the admitted frame is a VTEP probe (wire/probe.ts): it goes to the agent, not the TAP. */
  probe?: true;
  drop?: DropReason;
  /** Set for a traced datagram. */
  trace?: FrameTrace;
}

/**
 * The per-frame decisions, without I/O, against the path's current tables.
 * Counters are updated exactly as the I/O loops would update them. Used by
 * the differential tests; the I/O loops run the same code.
 */
export interface FrameProcessor {
  /** `trace`: a traced frame (FrameTrace in the result), counted nowhere, never sealed; its output is only returned. */
  processEgress(vni: number, frame: Buffer, trace?: boolean): EgressResult;
  /** A datagram received on the plain data port; `trace` as for egress. */
  processIngress(srcAddress: string, payload: Buffer, trace?: boolean): IngressResult;
  /** An ESP packet (SPI to ICV) received on either carrier from `srcAddress`. */
  processEsp(srcAddress: string, packet: Buffer): IngressResult;
  /**
   * A traced ESP packet from `srcAddress` under `spi` carrying the VXLAN
   * `payload`: the inbound SA is looked up (esp_bad_spi without one) and its
   * window read, nothing is opened, then the VXLAN stages run as for an
   * opened packet. Counted nowhere.
   */
  traceEsp(srcAddress: string, spi: number, payload: Buffer): IngressResult;
}

/** How an encrypted network protects its traffic (fixed for the network's life, the same on every host). */
export interface NetworkEncryption {
  /** IP protocol 50 (`ip`, Docker's framing) or ESP-in-UDP on the ESP port (`udp`, RFC 3948). */
  carrier: EspCarrier;
  /** AES-GCM key size: 16 (default) or 32. */
  keySize: AesKeySize;
  /**
   * 64-bit extended sequence numbers (RFC 4304): the default. `false` gives
   * classic 32-bit ESP for tools without ESN (Wireshark 4.0 verifies ICVs only
   * in that form); the sender then has to rekey before 2^32 packets.
   */
  esn: boolean;
}

/** Names one SA: the network, the peer VTEP and the key it is derived from. */
export interface SaIdentity {
  vni: number;
  /** The other end's VTEP address (canonical text). */
  peer: string;
  keyTag: number;
  spi: number;
}

/** One SA as `securityAssociations()` reports it. */
export interface SaInfo extends SaIdentity {
  direction: 'out' | 'in';
  /** Outbound: the last sequence number sent. Inbound: the highest accepted (the window's top). */
  seq: number;
}

export interface NetworkAttachment {
  vni: number;
  /** Name of the persistent TAP device (created if it does not exist). */
  tapName: string;
  /** Overlay IP MTU: the largest inner IP packet carried without fragmenting. */
  mtu: number;
  /**
   * Set for an encrypted network: from this call on, nothing of the VNI is
   * sent in plaintext (no SA → `no_sa`) and plaintext VXLAN for it is dropped
   * (`plaintext_on_encrypted`), also before any key is set.
   */
  encryption?: NetworkEncryption;
  /** Set for a network created with `--multicast`: broadcast and multicast are replicated (docs/multicast.md). */
  multicast?: MulticastSettings;
}

export { DEFAULT_MULTICAST_RATE, multicastBurst, type MulticastSettings } from './multicast/settings.js';

export interface DatapathOptions {
  /** Underlay address the VXLAN socket binds to (IPv4 or IPv6). */
  bindAddress: string;
  /** UDP port VXLAN is received on and sent to (default 4789). */
  dataPort: number;
  /** Sockets in the source pool; the outer source port follows the inner flow (default 8). */
  sourcePorts?: number;
  /**
   * Native path: worker threads, each with its own queue of every TAP and its
   * own data and ESP sockets (default: the online CPUs, at most 16). The
   * JavaScript path has its one event loop and ignores it.
   */
  workers?: number;
  /**
   * Native path: adaptive busy polling. After traffic a worker keeps polling
   * for this many µs instead of sleeping, while no task waits for a CPU, so a
   * reply that follows closely needs no thread wake-up (0: off; default
   * DEFAULT_BUSY_POLL_US of native.ts).
   */
  busyPollUs?: number;
  /**
   * Native path: UDP segmentation offload on the TAPs where the kernel has it
   * (Linux 6.2+): UDP_SEGMENT trains read whole, datagrams of a flow written
   * as one UDP GSO frame. Default true; false behaves as an older kernel
   * (datagrams one by one), for comparison and tests.
   */
  udpOffload?: boolean;
  /**
   * Native path: run the workers SCHED_FIFO (lowest realtime priority)
   * instead of nice −10, so a frame is forwarded as soon as it arrives, never
   * after a busy process's time slice. Default false: with a worker per CPU
   * and busy polling, nice −10 measured better on two shared cores
   * (docs/performance.md).
   */
  realtimeWorker?: boolean;
  /**
   * This host's VTEP address as peers see it (the gossip advertise address):
   * SAs are derived from it. Default `bindAddress`; needed when that is a wildcard.
   */
  vtepAddress?: string;
  /** UDP port of ESP-in-UDP (RFC 3948), received on and sent to (default 4500; 0 picks one, for tests). */
  espPort?: number;
  /**
   * The last sequence number an outbound SA may be assumed to have used
   * already (its first packet carries this + 1). The agent answers from its
   * persisted checkpoints, so a restarted sender never reuses a nonce. Default 0.
   */
  sequenceStart?: (sa: SaIdentity) => number;
  /**
   * Where a new inbound SA's replay window starts: numbers up to it are
   * refused as seen. The agent answers from its checkpoints, so a restarted
   * receiver does not accept again what it accepted before. Default 0.
   */
  windowStart?: (sa: SaIdentity) => number;
}

/** A captured frame, handed to TypeScript through the punt queue. */
export interface CapturedFrame {
  vni: number;
  direction: 'egress' | 'ingress';
  /** The inner Ethernet frame; with `outer`, the packet as on the wire (UDP payload, or the ESP packet of IP protocol 50). */
  frame: Buffer;
  /** For ingress frames: the VTEP it came from; for egress: where it was sent (if sent). */
  vtep?: string;
  /** Set on outer captures: how the packet travelled (`proto` udp: VXLAN or ESP-in-UDP; esp: IP protocol 50). */
  outer?: OuterInfo;
}

/** How a captured outer packet travelled: its IP protocol and this host's and the remote end's UDP ports (0 for ESP). */
export interface OuterInfo {
  proto: 'udp' | 'esp';
  localPort: number;
  remotePort: number;
}

/**
 * Drop events: each reason gets at most DROP_EVENT_RATE sampled drops per
 * second, DROP_EVENT_BURST at once (a token bucket per reason, shared by the
 * native workers; native/io/drop_events.h, ./drop-sampler.ts). The same in
 * both paths.
 */
export const DROP_EVENT_RATE = 10;
export const DROP_EVENT_BURST = 10;

/**
 * One sampled drop, as the data path hands it up (the agent decodes `head`).
 * Only the I/O loops' drops are offered: the pipeline's reasons; the I/O
 * reasons (`tap_write`, `udp_send`, `punt_overflow`) are counted only.
 */
export interface DropSample {
  reason: DropReason;
  direction: 'egress' | 'ingress';
  /** What `head` is: the inner Ethernet frame (egress), a VXLAN payload or an ESP packet (ingress). */
  kind: 'frame' | 'vxlan' | 'esp';
  /** The network the drop was counted for (`networkDrops`), when the path knew it. */
  vni?: number;
  /** Ingress: the outer source address. */
  vtep?: string;
  /** Drops of this reason that were not sampled since the previous sample of the reason (any network). */
  suppressed: number;
  /** Length of the dropped frame or datagram. */
  len: number;
  /** Its first bytes: at most 128 (ESP: 8, the SPI and sequence number). */
  head: Buffer;
}

/** What the data path moved to and from one remote VTEP (docs/datapath.md "Per-VTEP counters"). */
export interface PeerCounters {
  vtep: string;
  /** VXLAN payloads sent to it, and their bytes (as tx_packets/tx_bytes). */
  txPackets: number;
  txBytes: number;
  /** Frames admitted from it, and their bytes (as rx_packets/rx_bytes). */
  rxPackets: number;
  rxBytes: number;
}

/** A VTEP probe that passed ingress (the data path's punt). */
export interface ReceivedProbe {
  vni: number;
  /** The VTEP it came from (canonical text). */
  vtep: string;
  frame: Buffer;
}

export interface Datapath extends FrameProcessor {
  readonly kind: 'native' | 'js';
  /** Threads moving frames (the native workers; 1 for the JavaScript event loop). */
  readonly workers: number;
  /** Binds the data-port socket and the source pool, starts the loops. */
  start(): Promise<void>;
  /** Stops the loops and closes every descriptor; TAP devices stay (persistent). */
  stop(): Promise<void>;
  /** Opens (creating if needed) the network's persistent TAP and starts forwarding for it. */
  addNetwork(net: NetworkAttachment): void;
  /** Stops forwarding for the VNI and closes its TAP (the device itself stays). */
  removeNetwork(vni: number): void;
  /** Remote MAC → VTEP. A second set for the same key replaces the VTEP. */
  fdbSet(vni: number, mac: string, vtep: string): void;
  fdbDelete(vni: number, mac: string): void;
  /** Remote IP (v4 or v6) → MAC, answered to ARP and neighbour solicitations. */
  neighSet(vni: number, ip: string, mac: string): void;
  neighDelete(vni: number, ip: string): void;
  /**
   * Sets the key ring of an encrypted network. SAs are derived for every VTEP
   * of the network's FDB (and re-derived as the FDB changes), in the ring's
   * order: inbound SAs for new keys, then the outbound switch, then inbound
   * SAs of dropped keys go. Throws when the VNI is not an encrypted network.
   */
  setKeys(vni: number, ring: KeyringState): void;
  /** Every SA held, optionally of one network. */
  securityAssociations(vni?: number): SaInfo[];
  /** The ESP-in-UDP port bound (differs from options.espPort only when that was 0); 0 before start. */
  readonly espPort: number;
  counters(): DatapathCounters;
  /** The outer UDP source port VXLAN with `flowHash` leaves from (RFC 7348 §5); undefined while stopped. */
  sourcePort?(flowHash: number): number | undefined;
  /** What each worker thread moved (native path; the JavaScript path has none). */
  workerCounters?(): WorkerCounters[];
  /** Sampled drops of the I/O loops (DROP_EVENT_RATE per reason) go to `listener` until it is replaced or null. */
  setDropListener(listener: ((d: DropSample) => void) | null): void;
  /** Samples lost because the queue to the agent was full (their drops are in the next sample's `suppressed`). */
  readonly dropSamplesLost: number;
  /**
   * The drops of network `vni` by reason, counted by the I/O loops where the
   * network was known (undefined when the network is not attached). Drops
   * of no known network (unknown_vni, every ESP packet's, I/O errors) are in
   * `counters()` only.
   */
  networkDrops(vni: number): Record<DropReason, number> | undefined;
  /**
   * Mirror the network's frames (both directions) to `listener` until
   * disabled: what `spec` asks for (default: the inner frames, unfiltered).
   * Throws when the filter's addresses do not parse.
   */
  setCapture(vni: number, listener: ((f: CapturedFrame) => void) | null, spec?: CaptureSpec): void;
  /**
   * Sends a VTEP probe frame (wire/probe.ts) to `vtep` on network `vni` the
   * way a frame from the TAP goes: VXLAN on the data port, sealed with the
   * outbound SA on an encrypted network. Undefined when it went out, else the
   * drop reason (counted: no_network, unknown_vtep, no_sa, too_big, udp_send).
   */
  sendProbe(vni: number, vtep: string, frame: Buffer): DropReason | undefined;
  /** Where probes that arrive go (null: dropped unseen). */
  setProbeListener(listener: ((p: ReceivedProbe) => void) | null): void;
  /** One row per remote VTEP of any network, counters summed over the threads. */
  peerCounters(): PeerCounters[];
  /**
   * Multicast networks: the VTEPs that get frames for the group MAC `mac`
   * (01:00:5e:… or 33:33:…; rule 5 of MulticastSettings), replacing the
   * previous list; an empty list removes the entry. Ignored (no throw) for a
   * VNI that is not attached; a network without multicast keeps the list and
   * never uses it.
   */
  groupSet(vni: number, mac: string, vteps: string[]): void;
  /** The group table of a network: group MAC → VTEPs (canonical text, sorted). */
  groups(vni: number): Map<string, string[]>;
  /**
   * Where the IGMP and MLD frames read from a multicast network's TAP go
   * (rule 1 of MulticastSettings; null: dropped unseen). The frame is the
   * whole Ethernet frame as the endpoint sent it.
   */
  setMembershipListener(listener: ((vni: number, frame: Buffer) => void) | null): void;
  /**
   * Writes `frame` into the network's TAP, as if it came from the overlay
   * (the agent's IGMP/MLD general queries). False when the network is not
   * attached or the write failed (counted: tap_write).
   */
  injectFrame(vni: number, frame: Buffer): boolean;
}

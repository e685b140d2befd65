/**
 * The contract both forwarding paths implement: the native fast path
 * (native/, wrapped by ./native.ts) and the TypeScript reference path
 * (./js-datapath.ts). docs/datapath.md says what happens to a frame; this file
 * says how the rest of overlayd drives a path.
 */

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
  /** Every reason, zero included, so scripts can rely on the keys. */
  drops: Record<DropReason, number>;
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
    drops,
  };
}

/** One VXLAN payload to send (VXLAN header + inner frame). */
export interface EncapOutput {
  /** Underlay address of the receiving VTEP. */
  vtep: string;
  /** Flow hash of the inner packet; picks the source socket (outer source port). */
  flowHash: number;
  payload: Buffer;
}

/** What the path decided for one frame read from a TAP. */
export interface EgressResult {
  /** VXLAN payloads to send, in order (several when fragmenting). */
  out: EncapOutput[];
  /** Frames written back into the TAP (ARP/ND replies, ICMP errors). */
  reply: Buffer[];
  /** Set when the frame was dropped (a too-big frame can be dropped *and* answered). */
  drop?: DropReason;
}

/** What the path decided for one datagram received on the data port. */
export interface IngressResult {
  /** Set with `frame` when the inner frame goes to the TAP of this VNI. */
  vni?: number;
  frame?: Buffer;
  drop?: DropReason;
}

/**
 * The per-frame decisions, without I/O, against the path's current tables.
 * Counters are updated exactly as the I/O loops would update them. Used by
 * the differential tests; the I/O loops run the same code.
 */
export interface FrameProcessor {
  processEgress(vni: number, frame: Buffer): EgressResult;
  processIngress(srcAddress: string, payload: Buffer): IngressResult;
}

export interface NetworkAttachment {
  vni: number;
  /** Name of the persistent TAP device (created if it does not exist). */
  tapName: string;
  /** Overlay IP MTU: the largest inner IP packet carried without fragmenting. */
  mtu: number;
}

export interface DatapathOptions {
  /** Underlay address the VXLAN socket binds to (IPv4 or IPv6). */
  bindAddress: string;
  /** UDP port VXLAN is received on and sent to (default 4789). */
  dataPort: number;
  /** Sockets in the source pool; the outer source port follows the inner flow (default 8). */
  sourcePorts?: number;
}

/** A captured frame, handed to TypeScript through the punt queue. */
export interface CapturedFrame {
  vni: number;
  direction: 'egress' | 'ingress';
  frame: Buffer;
  /** For ingress frames: the VTEP it came from; for egress: where it was sent (if sent). */
  vtep?: string;
}

export interface Datapath extends FrameProcessor {
  readonly kind: 'native' | 'js';
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
  counters(): DatapathCounters;
  /** Mirror the network's frames (both directions) to `listener` until disabled. */
  setCapture(vni: number, listener: ((f: CapturedFrame) => void) | null): void;
}

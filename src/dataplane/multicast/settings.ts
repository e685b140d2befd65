/**
 * The multicast setting of a network and its replication rules (issue 14,
 * docs/multicast.md): the contract both data paths are built to. Re-exported
 * by datapath.ts.
 */
/**
 * How a multicast network replicates (docs/multicast.md "Replication").
 *
 * Egress of a frame whose destination MAC is a group MAC, in this order:
 *   1. IGMP (IPv4 protocol 2) or MLD (ICMPv6 130, 131, 132, 143, after any
 *      hop-by-hop header): handed to the membership listener, never sent
 *      (a snooping switch keeps reports from other hosts); not counted as a drop.
 *   2. ARP and neighbour discovery: answered by the proxy, as on every network.
 *   3. Broadcast (ff:ff:ff:ff:ff:ff), an IPv4 destination in 224.0.0.0/24 or
 *      an IPv6 destination in ff02::/16 other than solicited-node
 *      (ff02::1:ff00:0/104): every VTEP of the network (the FDB's VTEP set,
 *      static peers included).
 *   4. An IPv6 solicited-node destination that is not ND: dropped, `multicast`.
 *   5. Any other group MAC: the VTEPs `groupSet` gave for that MAC.
 *   An empty list: dropped, `multicast`. Otherwise the storm control takes one
 *   token per frame (not per copy): none left, dropped, `multicast_rate`.
 *   The frame is then sized (fragments, too-big) and encapsulated once; each
 *   VTEP gets a copy (sealed with its own outbound SA on an encrypted network;
 *   a VTEP without one is skipped and counted `no_sa`, the others still get
 *   theirs; the frame's verdict is then `no_sa`, with the copies sent).
 *   Counted: mcast_frames once per frame that passed the size stage,
 *   mcast_copies and tx per datagram sent (fragments × VTEPs).
 *   A traced frame takes no token; its trace ends at `lookup` for rule 1.
 *
 * Ingress: a group-MAC frame admitted from another VTEP on a multicast
 * network is delivered to the TAP like any frame (counted mcast_rx, on a
 * multicast network only), never replicated again.
 * A network without `multicast` keeps dropping group frames on egress
 * (`broadcast`, `multicast`) exactly as before.
 */
export interface MulticastSettings {
  /**
   * Storm control: replicated frames per second, per network, summed over
   * the workers (0: no limit). The bucket holds `multicastBurst(rate)` frames.
   */
  rate: number;
}

/**
 * Default storm-control rate: 10,000 frames/s ≈ 118 Mbit/s of 1472-byte
 * datagrams, so a real multicast stream of 100 Mbit/s passes, while discovery
 * protocols (mDNS, SSDP, JGroups) use a few frames per second; a runaway
 * sender (hundreds of kpps on this path) is cut to a few percent of its rate.
 */
export const DEFAULT_MULTICAST_RATE = 10_000;

/** The highest storm-control rate a network may carry (frames/s): far above what one host can replicate. */
export const MAX_MULTICAST_RATE = 100_000_000;

/** Frames the storm-control bucket holds: a tenth of a second at the rate, at least 10. */
export const multicastBurst = (rate: number): number => Math.max(10, Math.ceil(rate / 10));

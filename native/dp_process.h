/*
 * The per-frame decisions of docs/datapath.md, without I/O:
 *
 *   egress  (frame from the TAP of a network):
 *     parse Ethernet (≤ 2 VLAN tags) → ARP proxy → ND proxy → broadcast /
 *     multicast drop → FDB lookup → size (ICMP too-big | fragment) → VXLAN
 *   ingress (datagram on the data port):
 *     VXLAN header → VNI joined → source is a VTEP of the VNI → inner source
 *     MAC belongs to that VTEP → frame to the TAP
 *
 * The same code runs in the worker threads and behind the synchronous
 * processEgress/processIngress of the binding. Callers hold the tables' read lock.
 */
#ifndef OVERLAYD_DP_PROCESS_H
#define OVERLAYD_DP_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "tables.h"

/** Bytes writable in front of every egress frame: the VXLAN header is written there in place. */
#define DP_HEADROOM 8
#define DP_VXLAN_HLEN 8
/** Largest reply frame dp_egress builds (ICMPv6 too-big with two tags). */
#define DP_REPLY_MAX 1400

/** Counter slots: events, then drop reasons (src/dataplane/datapath.ts layout). */
enum dp_counter {
  DP_C_TX_PACKETS,
  DP_C_TX_BYTES,
  DP_C_RX_PACKETS,
  DP_C_RX_BYTES,
  DP_C_ARP_REPLIES,
  DP_C_ND_REPLIES,
  DP_C_ICMP_ERRORS,
  DP_C_FRAGMENTS,
  DP_C_DROPS /* first drop slot */
};

/** Drop reasons (index = docs/datapath.md table); DP_PASS when nothing was dropped. */
enum dp_drop {
  DP_PASS = -1,
  DP_DROP_MALFORMED = 0,
  DP_DROP_NO_NETWORK,
  DP_DROP_ARP_OTHER,
  DP_DROP_ARP_UNKNOWN,
  DP_DROP_ND_OTHER,
  DP_DROP_ND_DAD,
  DP_DROP_ND_UNKNOWN,
  DP_DROP_BROADCAST,
  DP_DROP_MULTICAST,
  DP_DROP_NO_FDB,
  DP_DROP_TOO_BIG,
  DP_DROP_BAD_VXLAN,
  DP_DROP_UNKNOWN_VNI,
  DP_DROP_UNKNOWN_VTEP,
  DP_DROP_SPOOFED_SRC,
  DP_DROP_TAP_WRITE,
  DP_DROP_UDP_SEND,
  DP_DROP_PUNT_OVERFLOW,
  DP_DROP_REASONS
};

#define DP_COUNTER_SLOTS (DP_C_DROPS + DP_DROP_REASONS)

/** Where dp_egress puts its results. */
typedef struct dp_egress_sink {
  void *ctx;
  /** A buffer of `len` bytes for a payload built off the frame (a fragment); never NULL. */
  uint8_t *(*buffer)(void *ctx, size_t len);
  /** One VXLAN payload (header + frame) for `vtep`; `payload` is the frame's headroom or a buffer() result. */
  void (*send)(void *ctx, const dp_addr *vtep, uint32_t flow_hash, uint8_t *payload, size_t len);
  /** One frame to write back into the TAP (ARP/ND reply, ICMP error); valid during the call only. */
  void (*reply)(void *ctx, const uint8_t *frame, size_t len);
} dp_egress_sink;

/**
 * Egress decision for one frame read from the TAP of `net` (NULL: not
 * configured). `frame` must have DP_HEADROOM writable bytes in front. Counts
 * into `counters` (DP_COUNTER_SLOTS) and returns the drop reason or DP_PASS.
 */
int dp_egress(const dp_network *net, uint8_t *frame, size_t len, uint64_t *counters, const dp_egress_sink *sink);

/**
 * Ingress decision for one datagram from `src` on the data port. On DP_PASS
 * `*net_out` is the network whose TAP gets the inner frame (payload + 8,
 * len − 8). Counts into `counters`.
 */
int dp_ingress(dp_tables *tables, const dp_addr *src, const uint8_t *payload, size_t len, uint64_t *counters,
               dp_network **net_out);

/** Flow hash of docs/datapath.md over a frame whose L3 starts at `l3off` with inner ethertype `ethertype`. */
uint32_t dp_flow_hash(const uint8_t *frame, size_t len, size_t l3off, uint16_t ethertype);

/** Ethernet parse: inner ethertype, tag count and L3 offset; -1 when truncated. */
int dp_parse_l2(const uint8_t *frame, size_t len, uint16_t *ethertype, int *tags, size_t *l3off);

#endif

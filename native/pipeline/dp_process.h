/*
 * The per-frame decisions of docs/datapath.md, without I/O:
 *
 *   egress  (frame from the TAP of a network):
 *     parse Ethernet (≤ 2 VLAN tags) → ARP proxy → ND proxy → broadcast /
 *     multicast drop → FDB lookup → size (ICMP too-big | fragment) → VXLAN
 *     (encrypted network: outbound SA → UDP header + VXLAN sealed as ESP, dp_esp.c)
 *   ingress (datagram on the data port):
 *     VXLAN header → VNI joined (and not encrypted) → source is a VTEP of the
 *     VNI → inner source MAC belongs to that VTEP → frame to the TAP
 *   ESP (either carrier, dp_esp.c):
 *     (source, SPI) → esp_open → inner UDP header → the VXLAN steps, the VNI
 *     being the SA's network
 *
 * The same code runs in the worker threads and behind the synchronous
 * processEgress/processIngress of the binding. Callers hold the tables' read lock.
 */
#ifndef OVERLAYD_DP_PROCESS_H
#define OVERLAYD_DP_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "tables/tables.h"

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
  /* encrypted networks (docs/datapath.md "Encrypted networks") */
  DP_DROP_NO_SA,
  DP_DROP_PLAINTEXT_ON_ENCRYPTED,
  DP_DROP_ESP_TRUNCATED, /* then esp_bad_spi … esp_too_old: the esp_drop order of esp.h */
  DP_DROP_ESP_BAD_SPI,
  DP_DROP_ESP_REPLAY,
  DP_DROP_ESP_BAD_ICV,
  DP_DROP_ESP_BAD_PADDING,
  DP_DROP_ESP_TOO_OLD,
  DP_DROP_ESP_WRONG_VNI,
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
  /**
   * One ESP packet (SPI to ICV) for `vtep` on `carrier` (enum dp_carrier);
   * `packet` is a buffer() result. NULL: ESP cannot be sent (counted udp_send).
   */
  void (*esp_send)(void *ctx, const dp_addr *vtep, uint32_t flow_hash, int carrier, uint8_t *packet, size_t len);
  /** Cipher-context slot of the calling thread (sa_table.h: DP_SA_SLOT_SYNC or DP_SA_SLOT_WORKER). */
  int sa_slot;
  /** The data port: inner UDP destination of sealed VXLAN. */
  uint16_t data_port;
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

/**
 * Decision for one ESP packet (SPI to ICV, writable: opened in place) from
 * `src` on either carrier, with the cipher contexts of `slot`. On DP_PASS
 * `*net_out` is the network and `*frame`/`*frame_len` the inner frame
 * (inside `packet`). Counts into `counters`.
 */
int dp_esp_ingress(dp_tables *tables, const dp_addr *src, uint8_t *packet, size_t len, int slot, uint64_t *counters,
                   dp_network **net_out, uint8_t **frame, size_t *frame_len);

/** Flow hash of docs/datapath.md over a frame whose L3 starts at `l3off` with inner ethertype `ethertype`. */
uint32_t dp_flow_hash(const uint8_t *frame, size_t len, size_t l3off, uint16_t ethertype);

/** Ethernet parse: inner ethertype, tag count and L3 offset; -1 when truncated. */
int dp_parse_l2(const uint8_t *frame, size_t len, uint16_t *ethertype, int *tags, size_t *l3off);

#endif

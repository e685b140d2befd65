/*
 * The counter block's slots (the layout of src/dataplane/datapath.ts): events,
 * then one slot per drop reason in the order of docs/datapath.md "Drop
 * reasons". Every stage returns a reason; the stage lists (egress.c,
 * ingress.c) and the I/O loops count it.
 */
#ifndef OVERLAYD_PIPELINE_COUNTERS_H
#define OVERLAYD_PIPELINE_COUNTERS_H

#include <stdint.h>

/** Counter slots: events, then drop reasons. */
enum dp_counter {
  DP_C_TX_PACKETS,
  DP_C_TX_BYTES,
  DP_C_RX_PACKETS,
  DP_C_RX_BYTES,
  DP_C_ARP_REPLIES,
  DP_C_ND_REPLIES,
  DP_C_ICMP_ERRORS,
  DP_C_FRAGMENTS,
  /* multicast networks (docs/multicast.md) */
  DP_C_MCAST_FRAMES, /* broadcast/multicast frames replicated, once per frame */
  DP_C_MCAST_COPIES, /* copies sent for them (also in tx) */
  DP_C_MCAST_RX,     /* broadcast/multicast frames admitted from other VTEPs (also in rx) */
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
  DP_DROP_MULTICAST_RATE, /* multicast networks: storm control */
  DP_DROP_REASONS
};

#define DP_COUNTER_SLOTS (DP_C_DROPS + DP_DROP_REASONS)

/** Counts a drop and returns the reason. */
static inline int dp_drop(uint64_t *counters, int reason) {
  counters[DP_C_DROPS + reason]++;
  return reason;
}

#endif

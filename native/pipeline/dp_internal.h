/* Shared between dp_process.c and dp_oversize.c; not part of the data path's interface. */
#ifndef OVERLAYD_DP_INTERNAL_H
#define OVERLAYD_DP_INTERNAL_H

#include "pipeline/dp_process.h"

/** The parsed Ethernet layer of an egress frame. */
typedef struct dp_l2 {
  uint16_t ethertype;
  int tags;
  size_t l3off;
} dp_l2;

/** Writes the VXLAN header at `payload` and counts one transmitted payload of `len` bytes. */
void dp_encapsulate(uint32_t vni, uint8_t *payload, size_t len, uint64_t *counters);

/** Step 7 for IPv4: ICMP frag-needed or fragments. Returns DP_PASS or a reason for the caller to count. */
int dp_oversize_ipv4(const dp_network *net, const dp_addr *vtep, uint32_t hash, const uint8_t *frame, size_t len,
                     const dp_l2 *l2, size_t l3max, uint64_t *counters, const dp_egress_sink *sink);
/** Step 7 for IPv6: ICMPv6 packet-too-big. Returns a reason for the caller to count. */
int dp_oversize_ipv6(const uint8_t *frame, size_t len, const dp_l2 *l2, size_t l3max, uint64_t *counters,
                     const dp_egress_sink *sink);

/**
 * The VXLAN steps of ingress on `payload` (VXLAN header + frame). `sa_vni`:
 * the network of the SA it came through (ESP), or −1 for the plain data port.
 */
int dp_vxlan_in(dp_tables *tables, const dp_addr *src, const uint8_t *payload, size_t len, int64_t sa_vni,
                uint64_t *counters, dp_network **net_out);
/** Egress of an encrypted network after the FDB lookup: no SA → no_sa, else the plain steps 7–8 sealed. */
int dp_egress_encrypted(const dp_network *net, const dp_addr *vtep, uint8_t *frame, size_t len, const dp_l2 *l2,
                        uint64_t *counters, const dp_egress_sink *sink);
/** Steps 7–8 (size, VXLAN) after the FDB lookup, emitting through `sink`. */
int dp_egress_encap(const dp_network *net, const dp_addr *vtep, uint8_t *frame, size_t len, const dp_l2 *l2,
                    uint64_t *counters, const dp_egress_sink *sink);
/** Counts a drop and returns the reason. */
static inline int dp_drop(uint64_t *counters, int reason) {
  counters[DP_C_DROPS + reason]++;
  return reason;
}

#endif

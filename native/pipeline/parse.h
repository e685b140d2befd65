/* Egress stage "parse": the Ethernet layer, and what the frame says about its flow. */
#ifndef OVERLAYD_PIPELINE_PARSE_H
#define OVERLAYD_PIPELINE_PARSE_H

#include "pipeline/frame.h"

/** Reads the Ethernet header and up to two VLAN tags; DP_PASS, or malformed when truncated. */
int dp_parse(const uint8_t *frame, size_t len, dp_l2 *l2);
/** Whether the frame is an untagged IPv6 neighbour-discovery message (ICMPv6 133–137 right after the header). */
int dp_parse_is_nd(const uint8_t *frame, size_t len, const dp_l2 *l2);
/** Flow hash of docs/datapath.md "Flow hash": FNV-1a over addresses, protocol and ports (else MACs and type). */
uint32_t dp_flow_hash(const uint8_t *frame, size_t len, const dp_l2 *l2);

#endif

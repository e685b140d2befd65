/*
 * Egress stage "proxy": ARP requests and IPv6 neighbour solicitations are
 * answered from the neighbour table; they never leave the host.
 */
#ifndef OVERLAYD_PIPELINE_PROXY_H
#define OVERLAYD_PIPELINE_PROXY_H

#include "pipeline/frame.h"
#include "tables/tables.h"

/** Answers an ARP request: DP_PASS with the reply in `reply` (`*reply_len` bytes), or the drop reason. */
int dp_proxy_arp(const dp_network *net, const uint8_t *frame, size_t len, const dp_l2 *l2,
                 uint8_t reply[DP_REPLY_MAX], size_t *reply_len);
/** Answers a neighbour solicitation (frame passed dp_parse_is_nd): DP_PASS with the advertisement, or the drop reason. */
int dp_proxy_nd(const dp_network *net, const uint8_t *frame, size_t len, const dp_l2 *l2,
                uint8_t reply[DP_REPLY_MAX], size_t *reply_len);

#endif

/*
 * What the stages of the pipeline share: the parsed Ethernet layer of a
 * frame, the header sizes, and the room a caller leaves around a frame.
 * Stages include this and their own header, never another stage's.
 */
#ifndef OVERLAYD_PIPELINE_FRAME_H
#define OVERLAYD_PIPELINE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/counters.h"

#define DP_ETH_IPV4 0x0800
#define DP_ETH_ARP 0x0806
#define DP_ETH_IPV6 0x86dd

#define DP_VXLAN_HLEN 8
#define DP_UDP_HLEN 8
/** Bytes writable in front of every egress frame: the VXLAN header is written there in place. */
#define DP_HEADROOM DP_VXLAN_HLEN
/** Largest reply frame a stage builds (ICMPv6 too-big with two tags). */
#define DP_REPLY_MAX 1400

/** The parsed Ethernet layer of a frame (≤ 2 VLAN tags). */
typedef struct dp_l2 {
  uint16_t ethertype;
  int tags;
  size_t l3off;
} dp_l2;

#endif

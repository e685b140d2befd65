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
/** ESP header + IV, written in front of the inner UDP header when a payload is sealed. */
#define DP_ESP_PREFIX_LEN 16
/** Room a sealed payload needs in front of the VXLAN header: inner UDP header, ESP header and IV. */
#define DP_SEAL_HEADROOM (DP_UDP_HLEN + DP_ESP_PREFIX_LEN)
/**
 * Bytes writable in front of every egress frame: the VXLAN header, and on an
 * encrypted network the inner UDP header, ESP header and IV, are written
 * there in place.
 */
#define DP_HEADROOM (DP_VXLAN_HLEN + DP_SEAL_HEADROOM)
/** Bytes writable behind every egress frame: ESP padding (≤ 3), pad length, next header and the 16-byte ICV. */
#define DP_TAILROOM 24
/** Largest reply frame a stage builds (ICMPv6 too-big with two tags). */
#define DP_REPLY_MAX 1400

/** The parsed Ethernet layer of a frame (≤ 2 VLAN tags). */
typedef struct dp_l2 {
  uint16_t ethertype;
  int tags;
  size_t l3off;
} dp_l2;

#endif

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

/**
 * VTEP probes (docs/datapath.md "VTEP probes"): agent to agent over the data
 * path, inner frames to the reserved probe MAC with the local experimental
 * ethertype. Admitted like any frame (VNI, VTEP, SA), then handed to the
 * agent, never written to a TAP.
 */
#define DP_ETH_PROBE 0x88b5
#define DP_PROBE_MAC_INIT {0x02, 0x6f, 0x76, 0x70, 0x72, 0x62}

/** Whether the inner frame is a VTEP probe (untagged, to the probe MAC, ethertype DP_ETH_PROBE). */
static inline int dp_is_probe(const uint8_t *frame, size_t len) {
  static const uint8_t mac[6] = DP_PROBE_MAC_INIT;
  if (len < 14 || frame[12] != (DP_ETH_PROBE >> 8) || frame[13] != (DP_ETH_PROBE & 0xff)) return 0;
  for (int i = 0; i < 6; i++)
    if (frame[i] != mac[i]) return 0;
  return 1;
}

/** The parsed Ethernet layer of a frame (≤ 2 VLAN tags). */
typedef struct dp_l2 {
  uint16_t ethertype;
  int tags;
  size_t l3off;
} dp_l2;

#endif

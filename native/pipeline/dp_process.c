/*
 * Per-frame decisions (docs/datapath.md); the pipeline is pictured in
 * dp_process.h. Oversize handling (ICMP too-big, IPv4 fragmentation) lives in
 * dp_oversize.c. Mirrors src/dataplane/process.ts step by step.
 */
#include "pipeline/dp_process.h"

#include <string.h>

#include "base/csum.h"
#include "pipeline/dp_internal.h"

#define ETH_IPV4 0x0800
#define ETH_ARP 0x0806
#define ETH_IPV6 0x86dd
#define NA_FLAGS 0x60000000u /* solicited | override */

#define drop dp_drop

static inline uint32_t fnv(uint32_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x01000193u;
  return h;
}

static inline int ported(uint8_t proto) { return proto == 6 || proto == 17 || proto == 132; }

uint32_t dp_flow_hash(const uint8_t *frame, size_t len, size_t l3off, uint16_t ethertype) {
  uint32_t h = 0x811c9dc5u;
  const uint8_t *ip = frame + l3off;
  if (ethertype == ETH_IPV4 && len >= l3off + 20) {
    h = fnv(h, ip + 12, 8);
    h = fnv(h, ip + 9, 1);
    size_t ihl = ip[0] & 0x0f;
    size_t l4 = l3off + ihl * 4;
    int fragment = (rd16(ip + 6) & 0x3fff) != 0;
    if (ported(ip[9]) && !fragment && ihl >= 5 && len >= l4 + 4) h = fnv(h, frame + l4, 4);
  } else if (ethertype == ETH_IPV6 && len >= l3off + 40) {
    h = fnv(h, ip + 8, 32);
    h = fnv(h, ip + 6, 1);
    if (ported(ip[6]) && len >= l3off + 44) h = fnv(h, ip + 40, 4);
  } else {
    uint8_t type[2] = {(uint8_t)(ethertype >> 8), (uint8_t)ethertype};
    h = fnv(h, frame, 12);
    h = fnv(h, type, 2);
  }
  return h;
}

int dp_parse_l2(const uint8_t *frame, size_t len, uint16_t *ethertype, int *tags, size_t *l3off) {
  if (len < 14) return -1;
  size_t off = 12;
  int n = 0;
  uint16_t type = rd16(frame + off);
  while ((type == 0x8100 || type == 0x88a8) && n < 2) {
    if (len < off + 6) return -1;
    off += 4;
    n++;
    type = rd16(frame + off);
  }
  *ethertype = type;
  *tags = n;
  *l3off = off + 2;
  return 0;
}

/* Step 3: answer an ARP request from the neighbour table. */
static int arp_proxy(const dp_network *net, const uint8_t *frame, size_t len, const dp_l2 *l2, uint64_t *counters,
                     const dp_egress_sink *sink) {
  if (l2->tags > 0) return drop(counters, DP_DROP_ARP_OTHER);
  const uint8_t *a = frame + l2->l3off;
  if (len < l2->l3off + 28) return drop(counters, DP_DROP_MALFORMED);
  if (rd16(a) != 1 || rd16(a + 2) != ETH_IPV4 || a[4] != 6 || a[5] != 4) return drop(counters, DP_DROP_MALFORMED);
  if (rd16(a + 6) != 1) return drop(counters, DP_DROP_ARP_OTHER);
  const uint8_t *sha = a + 8, *spa = a + 14, *tpa = a + 24;
  if (memcmp(spa, tpa, 4) == 0) return drop(counters, DP_DROP_ARP_OTHER);
  const uint8_t *mac = net_neigh_lookup(net, 4, tpa);
  if (mac == NULL || memcmp(mac, frame + 6, 6) == 0) return drop(counters, DP_DROP_ARP_UNKNOWN);
  uint8_t r[42];
  memcpy(r, frame + 6, 6);
  memcpy(r + 6, mac, 6);
  wr16(r + 12, ETH_ARP);
  wr16(r + 14, 1);
  wr16(r + 16, ETH_IPV4);
  r[18] = 6;
  r[19] = 4;
  wr16(r + 20, 2);
  memcpy(r + 22, mac, 6);
  memcpy(r + 28, tpa, 4);
  memcpy(r + 32, sha, 6);
  memcpy(r + 38, spa, 4);
  counters[DP_C_ARP_REPLIES]++;
  sink->reply(sink->ctx, r, sizeof r);
  return DP_PASS;
}

/* An untagged IPv6 frame carrying ICMPv6 types 133–137 straight after the fixed header. */
static int is_neighbour_discovery(const uint8_t *frame, size_t len, const dp_l2 *l2) {
  if (l2->ethertype != ETH_IPV6 || l2->tags != 0 || len < l2->l3off + 42) return 0;
  uint8_t type = frame[l2->l3off + 40];
  return frame[l2->l3off + 6] == 58 && type >= 133 && type <= 137;
}

static int is_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

/* Step 4: answer a neighbour solicitation from the neighbour table. */
static int nd_proxy(const dp_network *net, const uint8_t *frame, size_t len, const dp_l2 *l2, uint64_t *counters,
                    const dp_egress_sink *sink) {
  const uint8_t *ip = frame + l2->l3off;
  const uint8_t *icmp = ip + 40;
  if (icmp[0] != 135 || icmp[1] != 0 || ip[7] != 255) return drop(counters, DP_DROP_ND_OTHER);
  if (len < l2->l3off + 40 + 24) return drop(counters, DP_DROP_MALFORMED);
  const uint8_t *src = ip + 8;
  if (is_zero(src, 16)) return drop(counters, DP_DROP_ND_DAD);
  const uint8_t *target = icmp + 8;
  const uint8_t *mac = net_neigh_lookup(net, 6, target);
  if (mac == NULL || memcmp(mac, frame + 6, 6) == 0) return drop(counters, DP_DROP_ND_UNKNOWN);
  uint8_t r[86];
  memcpy(r, frame + 6, 6);
  memcpy(r + 6, mac, 6);
  wr16(r + 12, ETH_IPV6);
  uint8_t *h = r + 14;
  wr32(h, 0x60000000u);
  wr16(h + 4, 32);
  h[6] = 58;
  h[7] = 255;
  memcpy(h + 8, target, 16);
  memcpy(h + 24, src, 16);
  uint8_t *na = h + 40;
  na[0] = 136;
  na[1] = 0;
  wr16(na + 2, 0);
  wr32(na + 4, NA_FLAGS);
  memcpy(na + 8, target, 16);
  na[24] = 2;
  na[25] = 1;
  memcpy(na + 26, mac, 6);
  wr16(na + 2, csum_finish(csum_add(csum_pseudo(6, h + 8, h + 24, 58, 32), na, 32)));
  counters[DP_C_ND_REPLIES]++;
  sink->reply(sink->ctx, r, sizeof r);
  return DP_PASS;
}

void dp_encapsulate(uint32_t vni, uint8_t *payload, size_t len, uint64_t *counters) {
  payload[0] = 0x08;
  payload[1] = payload[2] = payload[3] = 0;
  payload[4] = (uint8_t)(vni >> 16);
  payload[5] = (uint8_t)(vni >> 8);
  payload[6] = (uint8_t)vni;
  payload[7] = 0;
  counters[DP_C_TX_PACKETS]++;
  counters[DP_C_TX_BYTES] += len;
}

int dp_egress(const dp_network *net, uint8_t *frame, size_t len, uint64_t *counters, const dp_egress_sink *sink) {
  if (net == NULL) return drop(counters, DP_DROP_NO_NETWORK);
  dp_l2 l2;
  if (dp_parse_l2(frame, len, &l2.ethertype, &l2.tags, &l2.l3off) < 0) return drop(counters, DP_DROP_MALFORMED);

  if (l2.ethertype == ETH_ARP) return arp_proxy(net, frame, len, &l2, counters, sink);
  if (is_neighbour_discovery(frame, len, &l2)) return nd_proxy(net, frame, len, &l2, counters, sink);
  if (frame[0] & 1) {
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    return drop(counters, memcmp(frame, bcast, 6) == 0 ? DP_DROP_BROADCAST : DP_DROP_MULTICAST);
  }

  const dp_addr *vtep = net_fdb_lookup(net, frame);
  if (vtep == NULL) return drop(counters, DP_DROP_NO_FDB);
  if (net->encrypted) return dp_egress_encrypted(net, vtep, frame, len, &l2, counters, sink);
  return dp_egress_encap(net, vtep, frame, len, &l2, counters, sink);
}

int dp_egress_encap(const dp_network *net, const dp_addr *vtep, uint8_t *frame, size_t len, const dp_l2 *l2,
                    uint64_t *counters, const dp_egress_sink *sink) {
  uint32_t hash = dp_flow_hash(frame, len, l2->l3off, l2->ethertype);
  size_t max_frame = (size_t)net->mtu + 14;
  if (len <= max_frame) {
    uint8_t *payload = frame - DP_VXLAN_HLEN;
    dp_encapsulate(net->vni, payload, len + DP_VXLAN_HLEN, counters);
    sink->send(sink->ctx, vtep, hash, payload, len + DP_VXLAN_HLEN);
    return DP_PASS;
  }
  size_t l3max = max_frame - l2->l3off;
  int reason;
  if (l2->ethertype == ETH_IPV4) {
    reason = dp_oversize_ipv4(net, vtep, hash, frame, len, l2, l3max, counters, sink);
  } else if (l2->ethertype == ETH_IPV6) {
    reason = dp_oversize_ipv6(frame, len, l2, l3max, counters, sink);
  } else {
    reason = DP_DROP_TOO_BIG;
  }
  return reason == DP_PASS ? DP_PASS : drop(counters, reason);
}

int dp_vxlan_in(dp_tables *tables, const dp_addr *src, const uint8_t *payload, size_t len, int64_t sa_vni,
                uint64_t *counters, dp_network **net_out) {
  if (len < DP_VXLAN_HLEN + 14) return drop(counters, DP_DROP_MALFORMED);
  if ((payload[0] & 0x08) == 0) return drop(counters, DP_DROP_BAD_VXLAN);
  uint32_t vni = (uint32_t)payload[4] << 16 | (uint32_t)payload[5] << 8 | payload[6];
  if (sa_vni >= 0 && vni != (uint32_t)sa_vni) return drop(counters, DP_DROP_ESP_WRONG_VNI);
  dp_network *net = tables_network(tables, vni);
  if (net == NULL) return drop(counters, DP_DROP_UNKNOWN_VNI);
  if (sa_vni < 0 && net->encrypted) return drop(counters, DP_DROP_PLAINTEXT_ON_ENCRYPTED);
  if (!net_is_vtep(net, src)) return drop(counters, DP_DROP_UNKNOWN_VTEP);
  const dp_addr *owner = net_fdb_lookup(net, payload + DP_VXLAN_HLEN + 6);
  if (owner == NULL || memcmp(owner, src, sizeof *src) != 0) return drop(counters, DP_DROP_SPOOFED_SRC);
  counters[DP_C_RX_PACKETS]++;
  counters[DP_C_RX_BYTES] += len - DP_VXLAN_HLEN;
  *net_out = net;
  return DP_PASS;
}

int dp_ingress(dp_tables *tables, const dp_addr *src, const uint8_t *payload, size_t len, uint64_t *counters,
               dp_network **net_out) {
  return dp_vxlan_in(tables, src, payload, len, -1, counters, net_out);
}

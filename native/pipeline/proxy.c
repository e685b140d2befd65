/* Egress stage "proxy"; see proxy.h. */
#include "pipeline/proxy.h"

#include <string.h>

#include "base/csum.h"

#define NA_FLAGS 0x60000000u /* solicited | override */

static int is_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

int dp_proxy_arp(const dp_network *net, const uint8_t *frame, size_t len, const dp_l2 *l2,
                 uint8_t reply[DP_REPLY_MAX], size_t *reply_len) {
  if (l2->tags > 0) return DP_DROP_ARP_OTHER;
  const uint8_t *a = frame + l2->l3off;
  if (len < l2->l3off + 28) return DP_DROP_MALFORMED;
  if (rd16(a) != 1 || rd16(a + 2) != DP_ETH_IPV4 || a[4] != 6 || a[5] != 4) return DP_DROP_MALFORMED;
  if (rd16(a + 6) != 1) return DP_DROP_ARP_OTHER;
  const uint8_t *sha = a + 8, *spa = a + 14, *tpa = a + 24;
  if (memcmp(spa, tpa, 4) == 0) return DP_DROP_ARP_OTHER;
  const uint8_t *mac = net_neigh_lookup(net, 4, tpa);
  if (mac == NULL || memcmp(mac, frame + 6, 6) == 0) return DP_DROP_ARP_UNKNOWN;
  uint8_t *r = reply;
  memcpy(r, frame + 6, 6);
  memcpy(r + 6, mac, 6);
  wr16(r + 12, DP_ETH_ARP);
  wr16(r + 14, 1);
  wr16(r + 16, DP_ETH_IPV4);
  r[18] = 6;
  r[19] = 4;
  wr16(r + 20, 2);
  memcpy(r + 22, mac, 6);
  memcpy(r + 28, tpa, 4);
  memcpy(r + 32, sha, 6);
  memcpy(r + 38, spa, 4);
  *reply_len = 42;
  return DP_PASS;
}

int dp_proxy_nd(const dp_network *net, const uint8_t *frame, size_t len, const dp_l2 *l2,
                uint8_t reply[DP_REPLY_MAX], size_t *reply_len) {
  const uint8_t *ip = frame + l2->l3off;
  const uint8_t *icmp = ip + 40;
  if (icmp[0] != 135 || icmp[1] != 0 || ip[7] != 255) return DP_DROP_ND_OTHER;
  if (len < l2->l3off + 40 + 24) return DP_DROP_MALFORMED;
  const uint8_t *src = ip + 8;
  if (is_zero(src, 16)) return DP_DROP_ND_DAD;
  const uint8_t *target = icmp + 8;
  const uint8_t *mac = net_neigh_lookup(net, 6, target);
  if (mac == NULL || memcmp(mac, frame + 6, 6) == 0) return DP_DROP_ND_UNKNOWN;
  uint8_t *r = reply;
  memcpy(r, frame + 6, 6);
  memcpy(r + 6, mac, 6);
  wr16(r + 12, DP_ETH_IPV6);
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
  *reply_len = 86;
  return DP_PASS;
}

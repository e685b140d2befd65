/* Egress stage "parse"; see parse.h. */
#include "pipeline/parse.h"

#include "base/csum.h"

static inline uint32_t fnv(uint32_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x01000193u;
  return h;
}

static inline int ported(uint8_t proto) { return proto == 6 || proto == 17 || proto == 132; }

int dp_parse(const uint8_t *frame, size_t len, dp_l2 *l2) {
  if (len < 14) return DP_DROP_MALFORMED;
  size_t off = 12;
  int n = 0;
  uint16_t type = rd16(frame + off);
  while ((type == 0x8100 || type == 0x88a8) && n < 2) {
    if (len < off + 6) return DP_DROP_MALFORMED;
    off += 4;
    n++;
    type = rd16(frame + off);
  }
  l2->ethertype = type;
  l2->tags = n;
  l2->l3off = off + 2;
  return DP_PASS;
}

int dp_parse_is_nd(const uint8_t *frame, size_t len, const dp_l2 *l2) {
  if (l2->ethertype != DP_ETH_IPV6 || l2->tags != 0 || len < l2->l3off + 42) return 0;
  uint8_t type = frame[l2->l3off + 40];
  return frame[l2->l3off + 6] == 58 && type >= 133 && type <= 137;
}

uint32_t dp_flow_hash(const uint8_t *frame, size_t len, const dp_l2 *l2) {
  uint32_t h = 0x811c9dc5u;
  size_t l3off = l2->l3off;
  const uint8_t *ip = frame + l3off;
  if (l2->ethertype == DP_ETH_IPV4 && len >= l3off + 20) {
    h = fnv(h, ip + 12, 8);
    h = fnv(h, ip + 9, 1);
    size_t ihl = ip[0] & 0x0f;
    size_t l4 = l3off + ihl * 4;
    int fragment = (rd16(ip + 6) & 0x3fff) != 0;
    if (ported(ip[9]) && !fragment && ihl >= 5 && len >= l4 + 4) h = fnv(h, frame + l4, 4);
  } else if (l2->ethertype == DP_ETH_IPV6 && len >= l3off + 40) {
    h = fnv(h, ip + 8, 32);
    h = fnv(h, ip + 6, 1);
    if (ported(ip[6]) && len >= l3off + 44) h = fnv(h, ip + 40, 4);
  } else {
    uint8_t type[2] = {(uint8_t)(l2->ethertype >> 8), (uint8_t)l2->ethertype};
    h = fnv(h, frame, 12);
    h = fnv(h, type, 2);
  }
  return h;
}

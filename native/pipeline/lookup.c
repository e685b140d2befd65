/* Egress stage "lookup", unicast and group frames; see lookup.h. */
#include "pipeline/lookup.h"

#include <string.h>

#include "tables/storm.h"

int dp_lookup(const dp_network *net, const uint8_t *frame, const dp_addr **vtep, dp_sa_out **sa) {
  if (frame[0] & 1) {
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    return memcmp(frame, bcast, 6) == 0 ? DP_DROP_BROADCAST : DP_DROP_MULTICAST;
  }
  *vtep = net_fdb_lookup(net, frame);
  if (*vtep == NULL) return DP_DROP_NO_FDB;
  *sa = NULL;
  if (!net->encrypted) return DP_PASS;
  *sa = net_sa_out(net, *vtep);
  return *sa != NULL ? DP_PASS : DP_DROP_NO_SA;
}

/* ---- group frames on a multicast network ---- */

#define IP_PROTO_IGMP 2
#define IP6_HOP_BY_HOP 0
#define IP6_ICMPV6 58

/* MLD query, v1 report, done, v2 report (RFC 2710, RFC 3810). */
static int mld_type(uint8_t type) { return type == 130 || type == 131 || type == 132 || type == 143; }

/* Rule 1: IGMP (IPv4 protocol 2), or MLD — ICMPv6 right after the IPv6 header or after a hop-by-hop header. */
static int is_membership(const uint8_t *frame, size_t len, const dp_l2 *l2) {
  size_t l3 = l2->l3off;
  if (l2->ethertype == DP_ETH_IPV4) return len >= l3 + 20 && frame[l3 + 9] == IP_PROTO_IGMP;
  if (l2->ethertype != DP_ETH_IPV6 || len < l3 + 40) return 0;
  uint8_t next = frame[l3 + 6];
  size_t off = l3 + 40;
  if (next == IP6_HOP_BY_HOP) {
    if (len < off + 2) return 0;
    next = frame[off];
    off += ((size_t)frame[off + 1] + 1) * 8;
  }
  return next == IP6_ICMPV6 && len > off && mld_type(frame[off]);
}

/* ff02::1:ff00:0/104 */
static int solicited_node(const uint8_t *dst) {
  for (int i = 2; i < 11; i++)
    if (dst[i] != 0) return 0;
  return dst[11] == 1 && dst[12] == 0xff;
}

enum { TO_GROUP, TO_ALL, TO_NOBODY };

/* Rules 3–5: every VTEP, nobody, or the group table. */
static int audience(const uint8_t *frame, size_t len, const dp_l2 *l2) {
  static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  if (memcmp(frame, bcast, 6) == 0) return TO_ALL;
  const uint8_t *ip = frame + l2->l3off;
  if (l2->ethertype == DP_ETH_IPV4 && len >= l2->l3off + 20)
    return ip[16] == 224 && ip[17] == 0 && ip[18] == 0 ? TO_ALL : TO_GROUP;
  if (l2->ethertype == DP_ETH_IPV6 && len >= l2->l3off + 40 && ip[24] == 0xff && ip[25] == 0x02)
    return solicited_node(ip + 24) ? TO_NOBODY : TO_ALL;
  return TO_GROUP;
}

int dp_lookup_group(const dp_network *net, const uint8_t *frame, size_t len, const dp_l2 *l2, dp_fanout *to) {
  if (is_membership(frame, len, l2)) return DP_MEMBERSHIP;
  int who = audience(frame, len, l2);
  if (who == TO_ALL) fanout_all(to, net);
  else fanout_group(to, who == TO_GROUP ? net_group_lookup(net, frame) : NULL);
  return to->n > 0 ? DP_PASS : DP_DROP_MULTICAST;
}

int dp_lookup_storm(const dp_network *net, int look) {
  return storm_take(net->storm, look) ? DP_PASS : DP_DROP_MULTICAST_RATE;
}

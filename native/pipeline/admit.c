/* Ingress stage "admit"; see admit.h. */
#include "pipeline/admit.h"

#include <string.h>

int dp_admit(dp_tables *tables, const dp_addr *src, uint32_t vni, int64_t sa_vni, const uint8_t *frame, int probe,
             dp_network **net, uint32_t *peer) {
  if (sa_vni != DP_NO_SA_VNI && vni != (uint32_t)sa_vni) return DP_DROP_ESP_WRONG_VNI;
  dp_network *n = tables_network(tables, vni);
  if (n == NULL) return DP_DROP_UNKNOWN_VNI;
  if (sa_vni == DP_NO_SA_VNI && n->encrypted) return DP_DROP_PLAINTEXT_ON_ENCRYPTED;
  if (!net_is_vtep(n, src)) return DP_DROP_UNKNOWN_VTEP;
  if (!probe) {
    const dp_addr *owner = net_fdb_lookup(n, frame + 6);
    if (owner == NULL || memcmp(owner, src, sizeof *src) != 0) return DP_DROP_SPOOFED_SRC;
    *peer = net_fdb_peer(owner);
  } else {
    *peer = net_vtep_peer(n, src);
  }
  *net = n;
  return DP_PASS;
}

/* Egress stage "lookup"; see lookup.h. */
#include "pipeline/lookup.h"

#include <string.h>

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

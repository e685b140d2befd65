/* Ingress stage "decapsulate"; see decapsulate.h. */
#include "pipeline/decapsulate.h"

int dp_decapsulate(const uint8_t *payload, size_t len, uint32_t *vni) {
  if (len < DP_VXLAN_HLEN + 14) return DP_DROP_MALFORMED;
  if ((payload[0] & 0x08) == 0) return DP_DROP_BAD_VXLAN;
  *vni = (uint32_t)payload[4] << 16 | (uint32_t)payload[5] << 8 | payload[6];
  return DP_PASS;
}

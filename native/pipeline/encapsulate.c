/* Egress stage "encapsulate"; see encapsulate.h. */
#include "pipeline/encapsulate.h"

void dp_encapsulate(uint32_t vni, uint8_t *payload) {
  payload[0] = 0x08;
  payload[1] = payload[2] = payload[3] = 0;
  payload[4] = (uint8_t)(vni >> 16);
  payload[5] = (uint8_t)(vni >> 8);
  payload[6] = (uint8_t)vni;
  payload[7] = 0;
}

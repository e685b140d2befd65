/* Egress stage "seal"; see seal.h. */
#include "pipeline/seal.h"

#include <string.h>

#include "base/csum.h"
#include "esp/esp.h"

/** Inner UDP source ports of encrypted traffic: 49152 + flowHash mod 16384. */
#define ESP_SPORT_BASE 49152u
#define ESP_SPORT_RANGE 16384u

size_t dp_seal_capacity(size_t len) { return esp_sealed_len(DP_UDP_HLEN + len); }

long dp_seal(dp_sa_out *sa, int slot, uint16_t data_port, uint32_t flow_hash, const uint8_t *payload, size_t len,
             uint8_t *packet, size_t cap) {
  size_t plen = DP_UDP_HLEN + len;
  uint8_t *udp = packet + ESP_PREFIX_LEN;
  wr16(udp, (uint16_t)(ESP_SPORT_BASE + flow_hash % ESP_SPORT_RANGE));
  wr16(udp + 2, data_port);
  wr16(udp + 4, (uint16_t)plen);
  wr16(udp + 6, 0); /* the ICV covers every byte (RFC 6935) */
  memmove(udp + DP_UDP_HLEN, payload, len);
  long n = sa_out_seal(sa, slot, udp, plen, ESP_NEXT_HEADER_UDP, packet, cap);
  return n < 0 ? -1 : n;
}

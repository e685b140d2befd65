/* Egress stage "seal"; see seal.h. */
#include "pipeline/seal.h"

#include "base/csum.h"
#include "esp/esp.h"

/** Inner UDP source ports of encrypted traffic: 49152 + flowHash mod 16384. */
#define ESP_SPORT_BASE 49152u
#define ESP_SPORT_RANGE 16384u

_Static_assert(DP_ESP_PREFIX_LEN == ESP_PREFIX_LEN, "frame.h's ESP prefix is esp.h's");
_Static_assert(DP_TAILROOM >= 3 + ESP_TRAILER_LEN + ESP_ICV_LEN, "the tailroom holds padding, trailer and ICV");

long dp_seal(dp_sa_out *sa, int slot, uint16_t data_port, uint32_t flow_hash, uint8_t *payload, size_t len) {
  size_t plen = DP_UDP_HLEN + len;
  uint8_t *udp = payload - DP_UDP_HLEN;
  uint8_t *packet = udp - ESP_PREFIX_LEN;
  wr16(udp, (uint16_t)(ESP_SPORT_BASE + flow_hash % ESP_SPORT_RANGE));
  wr16(udp + 2, data_port);
  wr16(udp + 4, (uint16_t)plen);
  wr16(udp + 6, 0); /* the ICV covers every byte (RFC 6935) */
  long n = sa_out_seal(sa, slot, udp, plen, ESP_NEXT_HEADER_UDP, packet, esp_sealed_len(plen));
  return n < 0 ? -1 : n;
}

/* Ingress stage "open"; see open.h. */
#include "pipeline/open.h"

#include "base/csum.h"
#include "esp/esp.h"

int dp_open(dp_tables *tables, const dp_addr *src, uint8_t *packet, size_t len, int slot, uint8_t **vxlan,
            size_t *vxlan_len, uint32_t *sa_vni) {
  if (len < 4) return DP_DROP_ESP_TRUNCATED;
  dp_sa_in *sa = tables_sa_in(tables, src, rd32(packet));
  if (sa == NULL) return DP_DROP_ESP_BAD_SPI;
  uint8_t next_header = 0;
  uint8_t *udp = packet + ESP_PREFIX_LEN;
  long n = sa_in_open(sa, slot, packet, len, udp, &next_header);
  if (n < 0) return DP_DROP_ESP_TRUNCATED + (int)(-n - 1);
  size_t ulen = (size_t)n;
  if (next_header != ESP_NEXT_HEADER_UDP || ulen < DP_UDP_HLEN || rd16(udp + 4) != ulen ||
      rd16(udp + 2) != tables->data_port)
    return DP_DROP_MALFORMED;
  *vxlan = udp + DP_UDP_HLEN;
  *vxlan_len = ulen - DP_UDP_HLEN;
  *sa_vni = sa_in_vni(sa);
  return DP_PASS;
}

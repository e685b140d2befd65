/* Internet checksum; see csum.h. */
#include "csum.h"

uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len) {
  uint64_t s = sum;
  size_t i = 0;
  for (; i + 4 <= len; i += 4) s += ((uint32_t)p[i] << 8 | p[i + 1]) + ((uint32_t)p[i + 2] << 8 | p[i + 3]);
  for (; i + 2 <= len; i += 2) s += (uint32_t)p[i] << 8 | p[i + 1];
  if (i < len) s += (uint32_t)p[i] << 8;
  /* Fold to 16 bits: the caller may keep adding to the result. */
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint32_t)s;
}

uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

uint16_t csum_finish(uint32_t sum) { return (uint16_t)~csum_fold(sum); }

uint32_t csum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t len) {
  size_t alen = family == 4 ? 4 : 16;
  uint32_t sum = csum_add(0, src, alen);
  sum = csum_add(sum, dst, alen);
  sum += proto;
  sum += len >> 16;
  sum += len & 0xffff;
  return sum;
}

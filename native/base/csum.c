/* Internet checksum; see csum.h. */
#include "base/csum.h"

#include <string.h>

/*
 * Sums native-order 32-bit halves of 64-bit loads into four independent
 * 64-bit accumulators (no carries to chase, ~2x the 32-bit loop), folds, and
 * swaps to network order at the end: the one's-complement sum commutes with
 * byte swapping (RFC 1071 §2(B)), so this equals the big-endian word sum.
 */
uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len) {
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  while (len >= 32) {
    uint64_t w[4];
    memcpy(w, p, sizeof w);
    a0 += (w[0] & 0xffffffffu) + (w[0] >> 32);
    a1 += (w[1] & 0xffffffffu) + (w[1] >> 32);
    a2 += (w[2] & 0xffffffffu) + (w[2] >> 32);
    a3 += (w[3] & 0xffffffffu) + (w[3] >> 32);
    p += 32;
    len -= 32;
  }
  uint64_t acc = a0 + a1 + a2 + a3;
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    acc += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    acc += w;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint8_t tail[2] = {p[0], 0};
    uint16_t w;
    memcpy(&w, tail, 2);
    acc += w;
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  uint16_t native = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  native = (uint16_t)((native >> 8) | (native << 8));
#endif
  uint32_t s = sum + native;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return s;
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

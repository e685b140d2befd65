/* Internet checksum (RFC 1071) pieces shared by the pipeline stages and the offloads. */
#ifndef OVERLAYD_CSUM_H
#define OVERLAYD_CSUM_H

#include <stddef.h>
#include <stdint.h>

/** Adds the bytes as big-endian 16-bit words to a 32-bit running sum (odd tail padded with zero). */
uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len);
/** Copies len bytes (the ranges must not overlap) and returns csum_add(sum, src, len), in one pass. */
uint32_t csum_copy(uint32_t sum, uint8_t *dst, const uint8_t *src, size_t len);
/** Folds a running sum to 16 bits and complements it: the value to store in a checksum field. */
uint16_t csum_finish(uint32_t sum);
/** Folds a running sum to 16 bits without complementing (a partial checksum for offloads). */
uint16_t csum_fold(uint32_t sum);
/** Pseudo-header sum for TCP/UDP/ICMPv6 over IPv4 (src, dst 4 bytes each) or IPv6 (16 each). */
uint32_t csum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t len);

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline uint32_t rd32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

#endif

/*
 * csum_add and csum_copy (which must also copy exactly the bytes, no more)
 * against the RFC 1071 definition (big-endian 16-bit words, odd byte padded
 * with zero, end-around carry), for every length 0–2999 at four alignments,
 * all-ones data (the carries) and a 64 KiB TSO frame. Built and run by
 * csum.test.ts; prints "ok" or the first mismatch.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csum.h"

static uint32_t reference(uint32_t sum, const uint8_t *p, size_t len) {
  uint64_t s = sum;
  for (size_t i = 0; i + 1 < len; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1) s += (uint32_t)p[len - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint32_t)s;
}

static uint8_t copy[70002];

static int check(const char *what, uint32_t seed, const uint8_t *p, size_t len) {
  uint16_t got = csum_fold(csum_add(seed, p, len)), want = csum_fold(reference(seed, p, len));
  memset(copy, 0xa5, len + 2);
  uint16_t copied = csum_fold(csum_copy(seed, copy + 1, p, len));
  if (got == want && copied == want && memcmp(copy + 1, p, len) == 0 && copy[0] == 0xa5 && copy[len + 1] == 0xa5) return 0;
  printf("mismatch: %s, length %zu at %p: csum_add %04x, csum_copy %04x%s, want %04x\n", what, len, (const void *)p, got,
         copied, memcmp(copy + 1, p, len) == 0 && copy[0] == 0xa5 && copy[len + 1] == 0xa5 ? "" : " (copy differs)", want);
  return 1;
}

int main(void) {
  static uint8_t buf[70000];
  srand(1);
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rand();
  for (size_t len = 0; len < 3000; len++)
    for (size_t off = 0; off < 4; off++)
      if (check("random", 0xfffe, buf + off, len)) return 1;
  uint8_t *ones = buf + 60000;
  memset(ones, 0xff, 9000);
  for (size_t off = 0; off < 4; off++)
    if (check("all ones", 0xffff, ones + off, 8999 - off)) return 1;
  if (check("64 KiB", 0, buf, 65535)) return 1;
  puts("ok");
  return 0;
}

/* Open-addressing hash table: linear probing, load ≤ 1/2, backward-shift deletion. */
#include "tables/oa_table.h"

#include <stdlib.h>
#include <string.h>

#define SLOT(t, i) ((t)->slots + (size_t)(i) * (t)->slot_len)

uint32_t oa_fnv1a(uint32_t h, const uint8_t *p, size_t len) {
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x01000193u;
  return h;
}

void oa_init(oa_table *t, uint16_t key_len, uint16_t val_len) {
  memset(t, 0, sizeof *t);
  t->key_len = key_len;
  t->val_len = val_len;
  t->slot_len = (uint16_t)(1 + key_len + val_len);
}

void oa_free(oa_table *t) {
  free(t->slots);
  t->slots = NULL;
  t->cap = 0;
  t->count = 0;
}

static size_t home(const oa_table *t, const void *key) {
  return oa_fnv1a(0x811c9dc5u, key, t->key_len) & (t->cap - 1);
}

static long find(const oa_table *t, const void *key) {
  if (t->cap == 0) return -1;
  for (size_t i = home(t, key);; i = (i + 1) & (t->cap - 1)) {
    uint8_t *s = SLOT(t, i);
    if (!s[0]) return -1;
    if (memcmp(s + 1, key, t->key_len) == 0) return (long)i;
  }
}

void *oa_get(const oa_table *t, const void *key) {
  long i = find(t, key);
  return i < 0 ? NULL : SLOT(t, i) + 1 + t->key_len;
}

static void place(oa_table *t, const uint8_t *key, const uint8_t *val) {
  size_t i = home(t, key);
  while (SLOT(t, i)[0]) i = (i + 1) & (t->cap - 1);
  uint8_t *s = SLOT(t, i);
  s[0] = 1;
  memcpy(s + 1, key, t->key_len);
  memcpy(s + 1 + t->key_len, val, t->val_len);
}

static int grow(oa_table *t) {
  size_t cap = t->cap ? t->cap * 2 : 16;
  uint8_t *slots = calloc(cap, t->slot_len);
  if (slots == NULL) return -1;
  uint8_t *old = t->slots;
  size_t old_cap = t->cap;
  t->slots = slots;
  t->cap = cap;
  for (size_t i = 0; i < old_cap; i++) {
    uint8_t *s = old + i * t->slot_len;
    if (s[0]) place(t, s + 1, s + 1 + t->key_len);
  }
  free(old);
  return 0;
}

int oa_put(oa_table *t, const void *key, const void *val, void *old) {
  long i = find(t, key);
  if (i >= 0) {
    uint8_t *v = SLOT(t, i) + 1 + t->key_len;
    if (old) memcpy(old, v, t->val_len);
    memcpy(v, val, t->val_len);
    return 1;
  }
  if ((t->count + 1) * 2 > t->cap && grow(t) < 0) return -1;
  place(t, key, val);
  t->count++;
  return 0;
}

int oa_del(oa_table *t, const void *key, void *old) {
  long found = find(t, key);
  if (found < 0) return 0;
  size_t mask = t->cap - 1, hole = (size_t)found;
  if (old) memcpy(old, SLOT(t, hole) + 1 + t->key_len, t->val_len);
  /* Backward shift: pull later members of the probe run into the hole. */
  for (size_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
    uint8_t *s = SLOT(t, j);
    if (!s[0]) break;
    size_t h = home(t, s + 1);
    int movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
    if (movable) {
      memcpy(SLOT(t, hole), s, t->slot_len);
      hole = j;
    }
  }
  SLOT(t, hole)[0] = 0;
  t->count--;
  return 1;
}

void oa_each(const oa_table *t, void (*fn)(const void *key, void *val, void *arg), void *arg) {
  for (size_t i = 0; i < t->cap; i++) {
    uint8_t *s = SLOT(t, i);
    if (s[0]) fn(s + 1, s + 1 + t->key_len, arg);
  }
}

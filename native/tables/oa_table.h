/*
 * A fixed-key, fixed-value open-addressing hash table (linear probing,
 * backward-shift deletion, FNV-1a over the key). Not thread-safe: the owner
 * (tables.c) serialises writers and readers with its lock.
 */
#ifndef OVERLAYD_OA_TABLE_H
#define OVERLAYD_OA_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct oa_table {
  uint8_t *slots;   /* cap × slot_len bytes: [used][key][value] */
  size_t cap;       /* power of two, or 0 before the first insert */
  size_t count;
  uint16_t key_len;
  uint16_t val_len;
  uint16_t slot_len;
} oa_table;

/** Prepares an empty table for keys and values of the given sizes. */
void oa_init(oa_table *t, uint16_t key_len, uint16_t val_len);
/** Frees the slots; the table is empty again. */
void oa_free(oa_table *t);
/** The value stored for `key`, or NULL. */
void *oa_get(const oa_table *t, const void *key);
/** Inserts or replaces; copies the previous value to `old` (if non-NULL) and returns 1 when replacing, 0 when new, -1 on ENOMEM. */
int oa_put(oa_table *t, const void *key, const void *val, void *old);
/** Removes `key`; copies its value to `old` (if non-NULL); 1 when it was present, else 0. */
int oa_del(oa_table *t, const void *key, void *old);
/** Calls fn(key, value, arg) for every entry. */
void oa_each(const oa_table *t, void (*fn)(const void *key, void *val, void *arg), void *arg);
/**
 * Walks the entries without a callback: the key of the first entry at or after
 * slot `*pos` (its value follows key_len bytes later), with `*pos` moved past
 * it; NULL at the end. Start with *pos = 0.
 */
static inline uint8_t *oa_next(const oa_table *t, size_t *pos) {
  for (; *pos < t->cap; (*pos)++) {
    uint8_t *s = t->slots + *pos * t->slot_len;
    if (s[0]) {
      (*pos)++;
      return s + 1;
    }
  }
  return NULL;
}
/** FNV-1a 32 over len bytes, continuing from `h` (start with 0x811c9dc5). */
uint32_t oa_fnv1a(uint32_t h, const uint8_t *p, size_t len);

#endif

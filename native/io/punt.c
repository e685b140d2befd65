/* Bounded punt ring; see punt.h. Captures are rare next to forwarding, so a mutex is enough. */
#include "io/punt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int punt_init(punt_ring *r, size_t cap) {
  memset(r, 0, sizeof *r);
  r->items = calloc(cap, sizeof *r->items);
  if (r->items == NULL) return -ENOMEM;
  r->cap = cap;
  pthread_mutex_init(&r->mu, NULL);
  return 0;
}

void punt_destroy(punt_ring *r) {
  punt_item item;
  while (punt_pop(r, &item, 1) == 1) punt_item_free(&item);
  free(r->items);
  r->items = NULL;
  pthread_mutex_destroy(&r->mu);
}

int punt_push(punt_ring *r, const punt_meta *meta, const dp_addr *vtep, const uint8_t *frame, size_t len) {
  /* A full ring costs no copy: a relaxed look first (the locked check below decides). */
  if (__atomic_load_n(&r->count, __ATOMIC_RELAXED) >= r->cap) return -1;
  uint8_t *copy = malloc(len ? len : 1);
  if (copy == NULL) return -1;
  memcpy(copy, frame, len);
  pthread_mutex_lock(&r->mu);
  if (r->count == r->cap) {
    pthread_mutex_unlock(&r->mu);
    free(copy);
    return -1;
  }
  punt_item *it = &r->items[(r->head + r->count) % r->cap];
  it->meta = *meta;
  it->has_vtep = vtep != NULL;
  if (vtep) it->vtep = *vtep;
  else memset(&it->vtep, 0, sizeof it->vtep);
  it->len = len;
  it->frame = copy;
  int was_empty = r->count == 0;
  __atomic_store_n(&r->count, r->count + 1, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&r->mu);
  if (was_empty && r->notify) r->notify(r->notify_arg);
  return 0;
}

size_t punt_pop(punt_ring *r, punt_item *out, size_t max) {
  size_t n = 0;
  pthread_mutex_lock(&r->mu);
  while (n < max && r->count > 0) {
    out[n++] = r->items[r->head];
    r->head = (r->head + 1) % r->cap;
    __atomic_store_n(&r->count, r->count - 1, __ATOMIC_RELAXED);
  }
  pthread_mutex_unlock(&r->mu);
  return n;
}

void punt_item_free(punt_item *item) {
  free(item->frame);
  item->frame = NULL;
}

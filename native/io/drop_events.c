/* Sampled drop events and per-network drop rows; see drop_events.h. */
#include "io/drop_sampler.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(DP_DROP_REASONS <= DP_NET_DROP_SLOTS, "a network's drop row holds every reason");

drop_sampler *drop_sampler_new(void) {
  drop_sampler *s = aligned_alloc(64, sizeof *s);
  if (s == NULL) return NULL;
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  return s;
}

void drop_sampler_free(drop_sampler *s) {
  if (s == NULL) return;
  pthread_mutex_destroy(&s->mu);
  free(s);
}

void drop_sampler_notify(drop_sampler *s, void (*notify)(void *arg), void *arg) {
  pthread_mutex_lock(&s->mu);
  s->notify = notify;
  s->notify_arg = arg;
  pthread_mutex_unlock(&s->mu);
}

/* Under mu: the drops of `reason` not sampled since its last event, from every worker and the carry. */
static uint64_t take_suppressed(drop_sampler *s, int reason) {
  uint64_t sum = s->carried[reason];
  s->carried[reason] = 0;
  for (int w = 0; w < DP_MAX_WORKERS; w++) {
    uint64_t now = atomic_load_explicit(&s->missed[w].n[reason], memory_order_relaxed);
    sum += now - s->reported[w][reason];
    s->reported[w][reason] = now;
  }
  return sum;
}

static void fill(drop_event *e, int reason, const drop_site *site, uint64_t suppressed) {
  e->reason = (uint8_t)reason;
  e->ingress = (uint8_t)site->ingress;
  e->kind = (uint8_t)site->kind;
  e->has_vtep = site->vtep != NULL;
  if (site->vtep != NULL) e->vtep = *site->vtep;
  else memset(&e->vtep, 0, sizeof e->vtep);
  e->vni_known = site->net != NULL;
  e->vni = site->net != NULL ? site->net->vni : 0;
  e->suppressed = suppressed;
  e->len = (uint32_t)site->len;
  size_t keep = site->kind == DROP_KIND_ESP ? DROP_EVENT_ESP_HEAD : DROP_EVENT_HEAD;
  e->head_len = (uint16_t)(site->len < keep ? site->len : keep);
  memcpy(e->head, site->bytes, e->head_len);
}

void drop_sample(drop_sampler *s, int worker, int reason, const drop_site *site, uint64_t now) {
  pthread_mutex_lock(&s->mu);
  uint64_t due = atomic_load_explicit(&s->due[reason], memory_order_relaxed);
  if (due > now + DROP_EVENT_TOLERANCE_NS) { /* another worker took the token */
    pthread_mutex_unlock(&s->mu);
    _Atomic uint64_t *n = &s->missed[worker].n[reason];
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1, memory_order_relaxed);
    return;
  }
  atomic_store_explicit(&s->due[reason], (due > now ? due : now) + DROP_EVENT_INTERVAL_NS, memory_order_relaxed);
  uint64_t suppressed = take_suppressed(s, reason);
  int notify = 0;
  if (s->count == DROP_EVENT_RING) {
    s->lost++;
    s->carried[reason] += suppressed + 1;
  } else {
    fill(&s->ring[(s->head + s->count) % DROP_EVENT_RING], reason, site, suppressed);
    notify = s->count++ == 0;
  }
  pthread_mutex_unlock(&s->mu);
  if (notify && s->notify) s->notify(s->notify_arg);
}

size_t drop_sampler_pop(drop_sampler *s, drop_event *out, size_t max, uint64_t *lost) {
  size_t n = 0;
  pthread_mutex_lock(&s->mu);
  while (n < max && s->count > 0) {
    out[n++] = s->ring[s->head];
    s->head = (s->head + 1) % DROP_EVENT_RING;
    s->count--;
  }
  *lost = s->lost;
  pthread_mutex_unlock(&s->mu);
  return n;
}

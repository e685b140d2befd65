/*
 * The drop sampler's state and the workers' inline offer (drop_events.h has
 * the picture). C only: the I/O loops include it through io_internal.h.
 */
#ifndef OVERLAYD_DROP_SAMPLER_H
#define OVERLAYD_DROP_SAMPLER_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "io/drop_events.h"

/** A worker's suppressed drops by reason, alone on its cache lines; written by that worker only. */
typedef struct drop_missed {
  _Atomic uint64_t n[DP_DROP_REASONS];
} __attribute__((aligned(64))) drop_missed;

struct drop_sampler {
  /** GCRA per reason: the time (ns, DROP_CLOCK) the next token is due; read by every worker. */
  _Atomic uint64_t due[DP_DROP_REASONS] __attribute__((aligned(64)));
  drop_missed missed[DP_MAX_WORKERS];
  pthread_mutex_t mu;
  /** Under mu: the missed counts already reported, and drops carried over from lost events. */
  uint64_t reported[DP_MAX_WORKERS][DP_DROP_REASONS];
  uint64_t carried[DP_DROP_REASONS];
  drop_event ring[DROP_EVENT_RING];
  size_t head, count;
  /** Events the full ring lost (their drops went into the next event's `suppressed`). */
  uint64_t lost;
  /** Called (outside the lock) after a push into an empty ring; wakes the consumer. */
  void (*notify)(void *arg);
  void *notify_arg;
};

/** Where a drop happened: the network when known, the outer source on ingress, the bytes. */
typedef struct drop_site {
  const dp_network *net;
  int ingress;
  int kind;
  const dp_addr *vtep;
  const uint8_t *bytes;
  size_t len;
} drop_site;

/** The slow path of drop_offer: a token may be due. */
void drop_sample(drop_sampler *s, int worker, int reason, const drop_site *site, uint64_t now);

/* Linux's coarse clock (a tick's resolution, no more needed for 10 per second) is a plain read; elsewhere the precise one. */
#ifdef CLOCK_MONOTONIC_COARSE
#define DROP_CLOCK CLOCK_MONOTONIC_COARSE
#else
#define DROP_CLOCK CLOCK_MONOTONIC
#endif

static inline uint64_t drop_clock_ns(void) {
  struct timespec ts;
  clock_gettime(DROP_CLOCK, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/** GCRA tolerance: a token is free while due ≤ now + this. */
#define DROP_EVENT_INTERVAL_NS (1000000000ull / DROP_EVENT_RATE)
#define DROP_EVENT_TOLERANCE_NS ((DROP_EVENT_BURST - 1) * DROP_EVENT_INTERVAL_NS)

/** A frame dropped by `reason` in worker `worker`: counted for its network, sampled as an event. */
static inline void drop_offer(drop_sampler *s, int worker, int reason, const drop_site *site) {
  if (reason < 0 || reason >= DP_DROP_REASONS) return;
  if (site->net != NULL) site->net->drops[worker][reason]++;
  if (s == NULL) return;
  uint64_t now = drop_clock_ns();
  if (atomic_load_explicit(&s->due[reason], memory_order_relaxed) > now + DROP_EVENT_TOLERANCE_NS) {
    _Atomic uint64_t *n = &s->missed[worker].n[reason];
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1, memory_order_relaxed);
    return;
  }
  drop_sample(s, worker, reason, site, now);
}

#endif

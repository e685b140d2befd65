/*
 * Storm control of a multicast network (docs/multicast.md "Replication"):
 * one GCRA bucket per network, shared by every worker without a lock — the
 * theoretical arrival time moves by compare-and-swap, as the drop sampler's
 * (io/drop_sampler.h). One token per replicated frame; the bucket holds
 * multicastBurst(rate) = max(10, ceil(rate / 10)) frames; rate 0: no limit.
 * C only: the pipeline and tables.c include it, the binding never does.
 */
#ifndef OVERLAYD_TABLES_STORM_H
#define OVERLAYD_TABLES_STORM_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

struct dp_storm {
  /** When the next token is due (ns, CLOCK_MONOTONIC_COARSE); written by every worker. */
  _Atomic uint64_t tat;
  /** ns per token (0: no limit), and how far ahead of now `tat` may run: (burst − 1) tokens. */
  uint64_t interval_ns;
  uint64_t tolerance_ns;
  uint32_t rate;
} __attribute__((aligned(64)));

/* A tick's resolution (1–4 ms) is plenty: the burst covers a tenth of a second. */
#ifdef CLOCK_MONOTONIC_COARSE
#define STORM_CLOCK CLOCK_MONOTONIC_COARSE
#else
#define STORM_CLOCK CLOCK_MONOTONIC
#endif

/** Sets the rate (frames/s, 0: no limit); a changed rate starts with a full bucket. Under the tables' write lock. */
static inline void storm_configure(struct dp_storm *s, uint32_t rate) {
  if (s->rate == rate && s->interval_ns != 0) return;
  uint64_t burst = rate / 10 + (rate % 10 != 0);
  if (burst < 10) burst = 10;
  s->rate = rate;
  s->interval_ns = rate != 0 ? 1000000000ull / rate : 0;
  s->tolerance_ns = (burst - 1) * s->interval_ns;
  atomic_store_explicit(&s->tat, 0, memory_order_relaxed);
}

/** Takes one token (`look`: only looks whether one is there, for a traced frame): 1, or 0 when the bucket is empty (multicast_rate). */
static inline int storm_take(struct dp_storm *s, int look) {
  if (s->interval_ns == 0) return 1;
  struct timespec ts;
  clock_gettime(STORM_CLOCK, &ts);
  uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  uint64_t tat = atomic_load_explicit(&s->tat, memory_order_relaxed);
  for (;;) {
    uint64_t from = tat > now ? tat : now;
    if (from - now > s->tolerance_ns) return 0;
    if (look) return 1;
    if (atomic_compare_exchange_weak_explicit(&s->tat, &tat, from + s->interval_ns, memory_order_relaxed,
                                              memory_order_relaxed))
      return 1;
  }
}

#endif

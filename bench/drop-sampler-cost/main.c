/*
 * The hot path of a dropped flood (native/io/drop_sampler.h drop_offer):
 * `threads` workers each offer `n` drops of one reason, counted for one
 * network, as the I/O loops do for a flood of one kind of garbage. Prints
 * the nanoseconds per drop (wall clock over the slowest worker) and the
 * events sampled.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "io/drop_sampler.h"

static drop_sampler *sampler;
static dp_network net;
static long per_thread;

static void *worker(void *arg) {
  int index = (int)(long)arg;
  uint8_t frame[64] = {0};
  drop_site site = {&net, 1, DROP_KIND_VXLAN, NULL, frame, sizeof frame};
  for (long i = 0; i < per_thread; i++) drop_offer(sampler, index, DP_DROP_UNKNOWN_VNI, &site);
  return NULL;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  per_thread = argc > 2 ? atol(argv[2]) : 10000000;
  sampler = drop_sampler_new();
  net.drops = calloc(DP_MAX_WORKERS, sizeof *net.drops);
  pthread_t t[DP_MAX_WORKERS];
  double t0 = now_ns();
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)(long)i);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  double ns = (now_ns() - t0) / (double)per_thread;
  drop_event events[DROP_EVENT_RING];
  uint64_t lost = 0;
  size_t sampled = drop_sampler_pop(sampler, events, DROP_EVENT_RING, &lost);
  printf("%.2f %zu %llu\n", ns, sampled, (unsigned long long)lost);
  return 0;
}

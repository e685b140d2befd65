/*
 * What a thread wake-up costs on this machine: two threads hand an eventfd
 * token back and forth through epoll, like a packet through two agents, one
 * round every 10 ms (the bench's ping interval, so both CPUs idle between
 * rounds). Prints the median and the 10th/90th percentile round trip (two
 * wake-ups) in microseconds.
 *
 *     main <cpu of A or -1> <cpu of B or -1> [rounds]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int a_to_b, b_to_a;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* Blocks in epoll_wait until fd is readable, then takes its token. */
static void take(int ep, int fd) {
  struct epoll_event ev;
  uint64_t v;
  while (epoll_wait(ep, &ev, 1, -1) != 1) {
  }
  if (read(fd, &v, sizeof v) != sizeof v) abort();
}

static void give(int fd) {
  uint64_t one = 1;
  if (write(fd, &one, sizeof one) != sizeof one) abort();
}

static int watcher(int fd) {
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  return ep;
}

static void *echo(void *arg) {
  pin(*(int *)arg);
  int ep = watcher(a_to_b);
  for (;;) {
    take(ep, a_to_b);
    give(b_to_a);
  }
  return NULL;
}

static int by_value(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int cpu_a = atoi(argv[1]), cpu_b = atoi(argv[2]);
  int rounds = argc > 3 ? atoi(argv[3]) : 200;
  if (rounds < 10 || rounds > 100000) return 2;
  a_to_b = eventfd(0, 0);
  b_to_a = eventfd(0, 0);
  pthread_t t;
  pthread_create(&t, NULL, echo, &cpu_b);
  pin(cpu_a);
  int ep = watcher(b_to_a);
  uint64_t *rtt = calloc((size_t)rounds, sizeof *rtt);
  for (int i = 0; i < rounds; i++) {
    usleep(10000);
    uint64_t t0 = now_ns();
    give(a_to_b);
    take(ep, b_to_a);
    rtt[i] = now_ns() - t0;
  }
  qsort(rtt, (size_t)rounds, sizeof *rtt, by_value);
  printf("%.1f %.1f %.1f\n", rtt[rounds / 2] / 1e3, rtt[rounds / 10] / 1e3, rtt[rounds * 9 / 10] / 1e3);
  return 0;
}

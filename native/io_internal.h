/* State shared by the Linux I/O files (io_linux.c, io_egress.c, io_ingress.c). */
#ifndef OVERLAYD_IO_INTERNAL_H
#define OVERLAYD_IO_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "io.h"

#define IO_MAX_POOL 64

struct io_ctx {
  dp_tables *tables;
  punt_ring *punt;
  io_config cfg;
  uint64_t *egress_counters;
  uint64_t *ingress_counters;
  int v6;                 /* sockets are AF_INET6 */
  int rx_sock;            /* bound to bind:port */
  int pool[IO_MAX_POOL];  /* source sockets bound to bind:0 */
  int pool_size;
  int gso;                /* UDP_SEGMENT accepted by the kernel */
  int gro;                /* UDP_GRO enabled on rx_sock */
  uint16_t port;          /* bound data port */
  int epfd;               /* TAP fds + stop eventfd */
  int stop_fd;            /* eventfd: written once to stop */
  atomic_int stopping;
  pthread_t egress_thread, ingress_thread;
  int egress_started, ingress_started;
};

/** TAP → UDP worker (io_egress.c). */
void *io_egress_main(void *arg);
/** UDP → TAP worker (io_ingress.c). */
void *io_ingress_main(void *arg);

/*
 * After traffic a worker keeps polling without sleeping for this long: a
 * reply (ping, TCP ACK) that comes back within it is picked up without a
 * thread wake-up, which costs tens of microseconds on a virtual machine.
 */
#define IO_SPIN_NS 200000

/** Monotonic clock in nanoseconds. */
uint64_t io_now_ns(void);

/** epoll data of a TAP registration: VNI in the high half, fd in the low half. */
static inline uint64_t io_tap_key(uint32_t vni, int fd) { return (uint64_t)vni << 32 | (uint32_t)fd; }
/** epoll data of the stop eventfd. */
#define IO_STOP_KEY UINT64_MAX

#endif

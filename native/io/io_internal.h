/* State shared by the Linux I/O files (io_linux.c, io_egress.c, io_ingress.c). */
#ifndef OVERLAYD_IO_INTERNAL_H
#define OVERLAYD_IO_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "io/drop_sampler.h"
#include "io/io.h"

#define IO_MAX_POOL 64

/** One worker: a thread, its epoll set, its sockets in the reuseport groups, its counter rows. */
typedef struct io_worker {
  io_ctx *io;
  /** 0 … workers − 1; also the TAP queue it reads. */
  int index;
  /** Its reader slot in the tables and cipher slot in the SAs: 1 + index. */
  int slot;
  int epfd;               /* its TAP queues, its sockets, the stop eventfd */
  int rx_sock;            /* bound to bind:port, in the data port's reuseport group */
  int esp_udp_sock;       /* bound to bind:esp_port, in the ESP port's reuseport group */
  uint64_t *egress_counters;
  uint64_t *ingress_counters;
  io_offload_stats stats; /* written by this worker only */
  pthread_t thread;
  int started;
} io_worker;

struct io_ctx {
  dp_tables *tables;
  punt_ring *punt;
  drop_sampler *drops;    /* sampled drop events (drop_events.h) */
  io_config cfg;
  int v6;                 /* sockets are AF_INET6 */
  int pool[IO_MAX_POOL];  /* source sockets bound to bind:0, shared by the workers */
  uint16_t pool_ports[IO_MAX_POOL]; /* their bound ports: the outer source port of each */
  int pool_size;
  int gso;                /* UDP_SEGMENT accepted by the kernel */
  int gro;                /* UDP_GRO enabled on the receive sockets */
  uint16_t port;          /* bound data port */
  uint16_t esp_port;      /* bound ESP-in-UDP port */
  int esp_raw_sock;       /* raw IP protocol 50 bound to bind (read by worker 0), or -1 when refused (EPERM) */
  int stop_fd;            /* eventfd: written once to stop, in every worker's epoll set */
  int loadavg_fd;         /* /proc/loadavg, read by spinning workers (busy polling on), else -1 */
  long cpus;              /* online CPUs */
  atomic_int stopping;
  int nworkers;
  io_worker workers[DP_MAX_WORKERS];
};

/** TAP → UDP state of a worker (io_egress.c). */
typedef struct egress_worker egress_worker;
egress_worker *egress_create(io_worker *wk);
void egress_destroy(egress_worker *w);
/** Reads and forwards up to one burst from the TAP queue `fd` of `vni`; returns the frames read. */
int egress_drain_tap(egress_worker *w, uint32_t vni, int fd);
/** Sends everything queued and recycles the arena. */
void egress_flush(egress_worker *w);

/** UDP → TAP state of a worker (io_ingress.c). */
typedef struct ingress_worker ingress_worker;
ingress_worker *ingress_create(io_worker *wk);
void ingress_destroy(ingress_worker *w);
/** One recvmmsg burst from the worker's data socket through the ingress checks to the TAPs; returns the datagrams received. */
int ingress_receive(ingress_worker *w);
/**
 * One recvmmsg burst of ESP from `fd` (the worker's ESP-in-UDP socket, or
 * with `raw` the protocol 50 socket, whose IPv4 packets start with the IP
 * header) through dp_esp_ingress to the TAPs; returns the packets received.
 */
int ingress_receive_esp(ingress_worker *w, int fd, int raw);

/** Nice value of the worker threads (see worker_main in io_linux.c). */
#define IO_WORKER_NICE (-10)

/** epoll data of a TAP registration: VNI in the high half, fd in the low half. */
static inline uint64_t io_tap_key(uint32_t vni, int fd) { return (uint64_t)vni << 32 | (uint32_t)fd; }
/** epoll data of the stop eventfd. */
#define IO_STOP_KEY UINT64_MAX
/** epoll data of the data-port socket. */
#define IO_RX_KEY (UINT64_MAX - 1)
/** epoll data of the ESP-in-UDP socket. */
#define IO_ESP_UDP_KEY (UINT64_MAX - 2)
/** epoll data of the raw protocol 50 socket. */
#define IO_ESP_RAW_KEY (UINT64_MAX - 3)

#endif

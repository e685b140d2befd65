/*
 * The Linux I/O context: sockets (data port + source pool, 7 MB buffers,
 * UDP GSO/GRO probed), the epoll set of TAP descriptors, and the two worker
 * threads (io_egress.c, io_ingress.c). See io.h for the picture.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/addr.h"
#include "pipeline/counters.h"
#include "io/io_internal.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* What the wireguard-go/Tailscale work settled on for a userspace tunnel. */
#define SOCKET_BUFFER_BYTES (7 << 20)

int io_supported(void) { return 1; }

static void set_buffers(int fd) {
  int size = SOCKET_BUFFER_BYTES;
  /* FORCE ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; fall back to the capped form. */
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static int open_udp(io_ctx *io, uint16_t port) {
  int fd = socket(io->v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (io->v6) {
    int v6only = 0; /* "::" also serves IPv4 VTEPs as mapped addresses */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  set_buffers(fd);
  struct sockaddr_storage sa;
  socklen_t len = addr_to_sockaddr(&io->cfg.bind, port, io->v6, &sa);
  if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  return fd;
}

/* The raw protocol 50 socket bound to the bind address; -errno when refused (EPERM without CAP_NET_RAW). */
static int open_esp_raw(io_ctx *io) {
  int fd = socket(io->v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
  if (fd < 0) return -errno;
  set_buffers(fd);
  struct sockaddr_storage sa;
  socklen_t len = addr_to_sockaddr(&io->cfg.bind, 0, io->v6, &sa);
  if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  return fd;
}

static uint16_t bound_port(int fd) {
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  return ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port : ((struct sockaddr_in6 *)&sa)->sin6_port);
}

static void close_all(io_ctx *io) {
  if (io->rx_sock >= 0) close(io->rx_sock);
  if (io->esp_udp_sock >= 0) close(io->esp_udp_sock);
  if (io->esp_raw_sock >= 0) close(io->esp_raw_sock);
  for (int i = 0; i < io->pool_size; i++)
    if (io->pool[i] >= 0) close(io->pool[i]);
  if (io->epfd >= 0) close(io->epfd);
  if (io->stop_fd >= 0) close(io->stop_fd);
}

static int open_sockets(io_ctx *io) {
  int fd = open_udp(io, io->cfg.port);
  if (fd < 0) return fd;
  io->rx_sock = fd;
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  io->port = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port : ((struct sockaddr_in6 *)&sa)->sin6_port);
  int on = 1;
  io->gro = setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
  for (int i = 0; i < io->pool_size; i++) {
    fd = open_udp(io, 0);
    if (fd < 0) return fd;
    io->pool[i] = fd;
  }
  /* Probe GSO: a socket that knows UDP_SEGMENT accepts it as an option. */
  int seg = 0;
  io->gso = setsockopt(io->pool[0], SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0;
  io->stats.gso_enabled = io->gso;
  fd = open_udp(io, io->cfg.esp_port);
  if (fd < 0) return fd;
  io->esp_udp_sock = fd;
  io->esp_port = bound_port(fd);
  fd = open_esp_raw(io);
  io->esp_raw_sock = fd >= 0 ? fd : -1; /* refused: carrier ip counts udp_send drops */
  return 0;
}

/*
 * Forwarding is latency work. Realtime (SCHED_FIFO, lowest priority): a frame
 * that wakes the worker runs it at once instead of after a busy neighbour's
 * slice (measured on two loaded cores: no more 4 ms RTT outliers, higher
 * throughput); the kernel's RT throttling still leaves 5% to everything else.
 * Otherwise, or when that is refused (no CAP_SYS_NICE), nice IO_WORKER_NICE.
 */
static void raise_priority(int realtime) {
  if (realtime) {
    struct sched_param sp = {.sched_priority = 1};
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0) return;
  }
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), IO_WORKER_NICE);
}

/*
 * The worker: one thread for both directions, so a reply the kernel makes
 * while we write a frame into a TAP (ping, TCP ACK) is read in the same
 * pass, without waking another thread. (Polling without sleeping after
 * traffic was tried: on two shared cores it starves the very processes whose
 * replies it waits for, and sched_yield hands the core away for a whole
 * slice; blocking in epoll_wait measured as good or better.)
 */
static void *worker_main(void *arg) {
  io_ctx *io = arg;
  raise_priority(io->cfg.realtime);
  egress_worker *eg = egress_create(io);
  ingress_worker *in = ingress_create(io);
  struct epoll_event evs[64];
  while (eg != NULL && in != NULL && !atomic_load(&io->stopping)) {
    int n = epoll_wait(io->epfd, evs, 64, -1);
    for (int i = 0; i < n; i++) {
      uint64_t key = evs[i].data.u64;
      if (key == IO_STOP_KEY) continue;
      if (key == IO_RX_KEY) ingress_receive(in);
      else if (key == IO_ESP_UDP_KEY) ingress_receive_esp(in, io->esp_udp_sock, 0);
      else if (key == IO_ESP_RAW_KEY) ingress_receive_esp(in, io->esp_raw_sock, 1);
      else egress_drain_tap(eg, (uint32_t)(key >> 32), (int)(uint32_t)key);
    }
    egress_flush(eg);
  }
  egress_destroy(eg);
  ingress_destroy(in);
  return NULL;
}

io_ctx *io_start(dp_tables *tables, const io_config *cfg, uint64_t *rows, punt_ring *punt, int *err) {
  io_ctx *io = calloc(1, sizeof *io);
  if (io == NULL) {
    *err = -ENOMEM;
    return NULL;
  }
  io->tables = tables;
  io->punt = punt;
  io->cfg = *cfg;
  io->egress_counters = rows;
  io->ingress_counters = rows + DP_COUNTER_SLOTS;
  io->v6 = cfg->bind.family == 6;
  io->pool_size = cfg->source_ports < 1 ? 1 : cfg->source_ports > IO_MAX_POOL ? IO_MAX_POOL : cfg->source_ports;
  io->rx_sock = io->epfd = io->stop_fd = io->esp_udp_sock = io->esp_raw_sock = -1;
  for (int i = 0; i < IO_MAX_POOL; i++) io->pool[i] = -1;
  atomic_init(&io->stopping, 0);

  int rc = open_sockets(io);
  if (rc == 0) {
    io->epfd = epoll_create1(EPOLL_CLOEXEC);
    io->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (io->epfd < 0 || io->stop_fd < 0) rc = -errno;
  }
  if (rc == 0) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = IO_STOP_KEY};
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->stop_fd, &ev) < 0) rc = -errno;
  }
  if (rc == 0) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = IO_RX_KEY};
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->rx_sock, &ev) < 0) rc = -errno;
  }
  if (rc == 0) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = IO_ESP_UDP_KEY};
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->esp_udp_sock, &ev) < 0) rc = -errno;
  }
  if (rc == 0 && io->esp_raw_sock >= 0) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = IO_ESP_RAW_KEY};
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->esp_raw_sock, &ev) < 0) rc = -errno;
  }
  if (rc == 0) {
    rc = -pthread_create(&io->thread, NULL, worker_main, io);
    io->started = rc == 0;
  }
  if (rc != 0) {
    io_stop(io);
    *err = rc;
    return NULL;
  }
  return io;
}

void io_stop(io_ctx *io) {
  atomic_store(&io->stopping, 1);
  if (io->stop_fd >= 0) {
    uint64_t one = 1;
    ssize_t w = write(io->stop_fd, &one, sizeof one);
    (void)w;
  }
  if (io->started) pthread_join(io->thread, NULL);
  close_all(io);
  free(io);
}

int io_tap_add(io_ctx *io, uint32_t vni, int fd) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = io_tap_key(vni, fd)};
  if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno != EEXIST) return -errno;
  return 0;
}

void io_tap_remove(io_ctx *io, int fd) { epoll_ctl(io->epfd, EPOLL_CTL_DEL, fd, NULL); }

void io_get_offload_stats(const io_ctx *io, io_offload_stats *out) {
  *out = io->stats;
  out->gro_enabled = io->gro;
}

uint16_t io_data_port(const io_ctx *io) { return io->port; }

uint16_t io_esp_port(const io_ctx *io) { return io->esp_port; }

int io_esp_raw(const io_ctx *io) { return io->esp_raw_sock >= 0; }

/*
 * The Linux I/O context: sockets (per worker: data port and ESP port in
 * SO_REUSEPORT groups; shared: the source pool and the raw ESP socket; 7 MB
 * buffers, UDP GSO/GRO probed) and the workers, each with its epoll set of
 * TAP queues and sockets (TAP → UDP in io_egress.c, UDP → TAP in
 * io_ingress.c). See io.h for the picture.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <time.h>
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

/* A UDP socket bound to bind:port; `reuse`: in that port's SO_REUSEPORT group (one socket per worker). */
static int open_udp(io_ctx *io, uint16_t port, int reuse) {
  int fd = socket(io->v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (io->v6) {
    int v6only = 0; /* "::" also serves IPv4 VTEPs as mapped addresses */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  int on = 1;
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) {
    int err = -errno;
    close(fd);
    return err;
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

static uint16_t bound_port(int fd);

/*
 * The port a reuseport group will use: a socket without SO_REUSEPORT is bound
 * first, so a port another process holds (another agent, with or without the
 * option) is EADDRINUSE as before, and port 0 picks a free one. Returns the
 * port or -errno.
 */
static int claim_port(io_ctx *io, uint16_t port) {
  int fd = open_udp(io, port, 0);
  if (fd < 0) return fd;
  int bound = bound_port(fd);
  close(fd);
  return bound;
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

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void close_all(io_ctx *io) {
  for (int i = 0; i < io->nworkers; i++) {
    close_fd(&io->workers[i].rx_sock);
    close_fd(&io->workers[i].esp_udp_sock);
    close_fd(&io->workers[i].epfd);
  }
  close_fd(&io->esp_raw_sock);
  for (int i = 0; i < io->pool_size; i++) close_fd(&io->pool[i]);
  close_fd(&io->stop_fd);
  close_fd(&io->loadavg_fd);
}

/* Each worker's socket in the reuseport group of `port`, stored at byte `field` of io_worker. Returns the port or -errno. */
static int open_group(io_ctx *io, uint16_t port, size_t field) {
  int claimed = claim_port(io, port);
  if (claimed < 0) return claimed;
  for (int i = 0; i < io->nworkers; i++) {
    int fd = open_udp(io, (uint16_t)claimed, 1);
    if (fd < 0) return fd;
    *(int *)((char *)&io->workers[i] + field) = fd;
  }
  return claimed;
}

static int open_sockets(io_ctx *io) {
  int port = open_group(io, io->cfg.port, offsetof(io_worker, rx_sock));
  if (port < 0) return port;
  io->port = (uint16_t)port;
  int on = 1;
  io->gro = 1;
  for (int i = 0; i < io->nworkers; i++)
    io->gro &= setsockopt(io->workers[i].rx_sock, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
  for (int i = 0; i < io->pool_size; i++) {
    int fd = open_udp(io, 0, 0);
    if (fd < 0) return fd;
    io->pool[i] = fd;
    io->pool_ports[i] = bound_port(fd);
  }
  /* Probe GSO: a socket that knows UDP_SEGMENT accepts it as an option. */
  int seg = 0;
  io->gso = setsockopt(io->pool[0], SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0;
  port = open_group(io, io->cfg.esp_port, offsetof(io_worker, esp_udp_sock));
  if (port < 0) return port;
  io->esp_port = (uint16_t)port;
  for (int i = 0; i < io->nworkers && io->gro; i++) /* a GRO buffer is split by its cmsg, as on the data port */
    setsockopt(io->workers[i].esp_udp_sock, SOL_UDP, UDP_GRO, &on, sizeof on);
  int fd = open_esp_raw(io);
  io->esp_raw_sock = fd >= 0 ? fd : -1; /* refused: carrier ip counts udp_send drops */
  return 0;
}

/*
 * Forwarding is latency work: nice IO_WORKER_NICE, or with `realtime`
 * SCHED_FIFO at the lowest priority, so a frame that wakes a worker runs it
 * at once instead of after a busy neighbour's slice (the kernel's RT
 * throttling still leaves 5% to everything else; refused without
 * CAP_SYS_NICE, then nice). With one worker, realtime measured better (no
 * 4 ms RTT outliers on two loaded cores); with a worker per CPU and busy
 * polling, nice measured better: a woken FIFO worker is sent to another CPU
 * than its FIFO waker (a wake-up across CPUs, slow on a VM), and spinning
 * FIFO workers keep others off their cores (docs/performance.md).
 */
static void raise_priority(int realtime) {
  if (realtime) {
    struct sched_param sp = {.sched_priority = 1};
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0) return;
  }
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), IO_WORKER_NICE);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether no task waits for a CPU: runnable tasks (the "R/T" field of /proc/loadavg, this one included) ≤ online CPUs. */
static int cpu_to_spare(const io_ctx *io) {
  char buf[96];
  ssize_t r = io->loadavg_fd >= 0 ? pread(io->loadavg_fd, buf, sizeof buf - 1, 0) : -1;
  if (r <= 0) return 0;
  buf[r] = 0;
  char *slash = strchr(buf, '/');
  if (slash == NULL) return 0;
  char *p = slash;
  while (p > buf && p[-1] >= '0' && p[-1] <= '9') p--;
  long running = strtol(p, NULL, 10);
  return running > 0 && running <= io->cpus;
}

/*
 * Adaptive busy polling (io_config.busy_poll_us): after a pass that moved
 * packets the worker polls its epoll set without sleeping for up to
 * busy_poll_us more, so a packet that follows closely (the reply to what it
 * just sent, the next request) is taken without a thread wake-up. It spins
 * only on a core nobody else wants:
 *
 * - between polls it calls sched_yield(). Alone on its CPU that returns at
 *   once; when another task waits there (the ping the worker just woke by
 *   writing into a TAP, the other agent's worker its own send woke) the
 *   yield runs it, and a yield that took longer than YIELD_HANDED_NS ends
 *   the spin: the worker blocks, and the next packet wakes it (a worker
 *   that stayed runnable behind a busy task would wait out that task's
 *   slice; a blocked one is woken, and placed, by the packet). Without the
 *   yield, a worker at nice -10 spun its
 *   whole window in front of the very process whose reply it waited for
 *   (docs/performance.md, "Where a round trip's time goes");
 * - every SPIN_CHECK polls it reads the machine's runnable count and stops
 *   once tasks outnumber the online CPUs (a task queued on another CPU).
 *
 * An idle worker blocks in epoll_wait.
 */
#define SPIN_CHECK 16
#define YIELD_HANDED_NS 5000u

typedef struct spin_state {
  uint64_t window_ns; /* 0: never spin */
  uint64_t last_ns;   /* when a pass last moved packets; 0: not spinning */
  unsigned polls;     /* polls since then */
  int allowed;        /* result of the last cpu_to_spare() */
} spin_state;

/* The epoll_wait timeout of the next wait: 0 while spinning, else −1 (block). */
static int spin_timeout(const io_ctx *io, spin_state *s) {
  if (s->window_ns == 0 || s->last_ns == 0 || now_ns() - s->last_ns >= s->window_ns) return -1;
  if (s->polls++ % SPIN_CHECK == 0) s->allowed = cpu_to_spare(io);
  return s->allowed ? 0 : -1;
}

static void spin_after(spin_state *s, int events, int timeout) {
  if (events > 0) {
    s->last_ns = now_ns();
    s->polls = 0;
  } else if (timeout == 0) {
    uint64_t before = now_ns();
    sched_yield();
    if (now_ns() - before > YIELD_HANDED_NS) s->last_ns = 0; /* someone else ran here: stop spinning */
  }
}

/*
 * A worker: one thread for both directions, so a reply the kernel makes
 * while we write a frame into a TAP (ping, TCP ACK) is read in the same
 * pass, without waking another thread. It blocks in epoll_wait, or spins
 * briefly after traffic (spin_timeout).
 */
static void *worker_main(void *arg) {
  io_worker *wk = arg;
  io_ctx *io = wk->io;
  raise_priority(io->cfg.realtime);
  egress_worker *eg = egress_create(wk);
  ingress_worker *in = ingress_create(wk);
  struct epoll_event evs[64];
  spin_state spin = {(uint64_t)io->cfg.busy_poll_us * 1000u, 0, 0, 0};
  while (eg != NULL && in != NULL && !atomic_load(&io->stopping)) {
    int timeout = spin_timeout(io, &spin);
    int n = epoll_wait(wk->epfd, evs, 64, timeout);
    spin_after(&spin, n, timeout);
    for (int i = 0; i < n; i++) {
      uint64_t key = evs[i].data.u64;
      if (key == IO_STOP_KEY) continue;
      if (key == IO_RX_KEY) ingress_receive(in);
      else if (key == IO_ESP_UDP_KEY) ingress_receive_esp(in, wk->esp_udp_sock, 0);
      else if (key == IO_ESP_RAW_KEY) ingress_receive_esp(in, io->esp_raw_sock, 1);
      else egress_drain_tap(eg, (uint32_t)(key >> 32), (int)(uint32_t)key);
    }
    egress_flush(eg);
  }
  egress_destroy(eg);
  ingress_destroy(in);
  return NULL;
}

static int watch(int epfd, int fd, uint64_t key) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = key};
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Worker i's epoll set: the stop eventfd, its sockets, and (worker 0) the raw ESP socket. */
static int worker_setup(io_ctx *io, io_worker *wk) {
  wk->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (wk->epfd < 0) return -errno;
  int rc = watch(wk->epfd, io->stop_fd, IO_STOP_KEY);
  if (rc == 0) rc = watch(wk->epfd, wk->rx_sock, IO_RX_KEY);
  if (rc == 0) rc = watch(wk->epfd, wk->esp_udp_sock, IO_ESP_UDP_KEY);
  /* A raw socket gets a copy of every packet: one reader, or each would be opened twice. */
  if (rc == 0 && wk->index == 0 && io->esp_raw_sock >= 0) rc = watch(wk->epfd, io->esp_raw_sock, IO_ESP_RAW_KEY);
  return rc;
}

io_ctx *io_start(dp_tables *tables, const io_config *cfg, uint64_t *rows, punt_ring *punt, drop_sampler *drops,
                 int *err) {
  io_ctx *io = calloc(1, sizeof *io);
  if (io == NULL) {
    *err = -ENOMEM;
    return NULL;
  }
  io->tables = tables;
  io->punt = punt;
  io->drops = drops;
  io->cfg = *cfg;
  io->v6 = cfg->bind.family == 6;
  io->pool_size = cfg->source_ports < 1 ? 1 : cfg->source_ports > IO_MAX_POOL ? IO_MAX_POOL : cfg->source_ports;
  io->nworkers = cfg->workers < 1 ? 1 : cfg->workers > DP_MAX_WORKERS ? DP_MAX_WORKERS : cfg->workers;
  io->stop_fd = io->esp_raw_sock = -1;
  io->cpus = sysconf(_SC_NPROCESSORS_ONLN);
  io->loadavg_fd = cfg->busy_poll_us > 0 ? open("/proc/loadavg", O_RDONLY | O_CLOEXEC) : -1;
  for (int i = 0; i < IO_MAX_POOL; i++) io->pool[i] = -1;
  for (int i = 0; i < io->nworkers; i++) {
    io_worker *wk = &io->workers[i];
    wk->io = io;
    wk->index = i;
    wk->slot = 1 + i;
    wk->epfd = wk->rx_sock = wk->esp_udp_sock = -1;
    wk->egress_counters = rows + (size_t)(IO_ROWS_PER_WORKER * i) * DP_COUNTER_SLOTS;
    wk->ingress_counters = wk->egress_counters + DP_COUNTER_SLOTS;
  }
  atomic_init(&io->stopping, 0);

  int rc = open_sockets(io);
  if (rc == 0) {
    io->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (io->stop_fd < 0) rc = -errno;
  }
  for (int i = 0; rc == 0 && i < io->nworkers; i++) {
    io->workers[i].stats.gso_enabled = io->gso; /* until the kernel refuses it (EIO) */
    rc = worker_setup(io, &io->workers[i]);
  }
  for (int i = 0; rc == 0 && i < io->nworkers; i++) {
    io_worker *wk = &io->workers[i];
    rc = -pthread_create(&wk->thread, NULL, worker_main, wk);
    wk->started = rc == 0;
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
    uint64_t one = 1; /* never read: the eventfd stays readable and wakes every worker */
    ssize_t w = write(io->stop_fd, &one, sizeof one);
    (void)w;
  }
  for (int i = 0; i < io->nworkers; i++)
    if (io->workers[i].started) pthread_join(io->workers[i].thread, NULL);
  close_all(io);
  free(io);
}

int io_tap_add(io_ctx *io, uint32_t vni, int queue, int fd) {
  if (queue < 0 || queue >= io->nworkers) return 0; /* more queues than workers: never read */
  int rc = watch(io->workers[queue].epfd, fd, io_tap_key(vni, fd));
  return rc == -EEXIST ? 0 : rc;
}

void io_tap_remove(io_ctx *io, int queue, int fd) {
  if (queue >= 0 && queue < io->nworkers) epoll_ctl(io->workers[queue].epfd, EPOLL_CTL_DEL, fd, NULL);
}

int io_workers(const io_ctx *io) { return io->nworkers; }

void io_get_offload_stats(const io_ctx *io, io_offload_stats *out) {
  memset(out, 0, sizeof *out);
  for (int i = 0; i < io->nworkers; i++) {
    const io_offload_stats *s = &io->workers[i].stats;
    out->tso_frames += s->tso_frames;
    out->tso_segments += s->tso_segments;
    out->uso_frames += s->uso_frames;
    out->uso_segments += s->uso_segments;
    out->gso_sends += s->gso_sends;
    out->gso_datagrams += s->gso_datagrams;
    out->gro_frames += s->gro_frames;
    out->gro_segments += s->gro_segments;
    out->gro_udp_frames += s->gro_udp_frames;
    out->gro_udp_segments += s->gro_udp_segments;
    out->udp_gro_buffers += s->udp_gro_buffers;
    out->tso_frames_in += s->tso_frames_in;
    out->uso_frames_in += s->uso_frames_in;
  }
  out->gso_enabled = io->gso;
  for (int i = 0; i < io->nworkers; i++) out->gso_enabled &= io->workers[i].stats.gso_enabled;
  out->gro_enabled = io->gro;
}

uint16_t io_data_port(const io_ctx *io) { return io->port; }

uint16_t io_esp_port(const io_ctx *io) { return io->esp_port; }

uint16_t io_source_port(const io_ctx *io, uint32_t flow_hash) {
  return io->pool_ports[flow_hash % (uint32_t)io->pool_size]; /* the socket udp_batch_add picks */
}

int io_esp_raw(const io_ctx *io) { return io->esp_raw_sock >= 0; }

int io_send(io_ctx *io, const dp_addr *vtep, uint32_t flow_hash, int carrier, const uint8_t *packet, size_t len) {
  int sock = io->pool[flow_hash % (uint32_t)io->pool_size];
  uint16_t port = io->port;
  if (carrier == DP_CARRIER_UDP) sock = io->workers[0].esp_udp_sock, port = io->esp_port;
  if (carrier == DP_CARRIER_IP) sock = io->esp_raw_sock, port = 0;
  if (sock < 0) return -EPERM; /* no raw socket (EPERM at start) */
  struct sockaddr_storage dst;
  socklen_t dlen = addr_to_sockaddr(vtep, port, io->v6, &dst);
  return sendto(sock, packet, len, 0, (struct sockaddr *)&dst, dlen) < 0 ? -errno : 0;
}

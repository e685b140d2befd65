/*
 * The I/O loops of the native data path (Linux: io_linux.c; elsewhere
 * io_other.c returns -ENOTSUP):
 *
 * N workers (io_config.workers), each a thread with its own epoll set, its
 * own queue of every network's multi-queue TAP, and its own sockets on the
 * data port and the ESP port (SO_REUSEPORT: the kernel spreads datagrams over
 * the group by a hash of their addresses and ports, and the sender's outer
 * source port is its flow hash, so one flow always meets the same worker; the
 * TAP picks a queue by the flow's hash the same way). Each worker serves
 * both directions:
 *
 *   TAP → UDP  read bursts (virtio_net_hdr
 *              super-frames are checksummed and TSO-segmented), dp_egress each
 *              frame in place, send runs to one VTEP as one UDP_SEGMENT
 *              datagram train, everything else with sendmmsg from the source
 *              socket flowHash % poolSize.
 *   UDP → TAP  recvmmsg (UDP_GRO) on the data-port socket, split,
 *              dp_ingress each datagram, coalesce in-order TCP segments of one
 *              flow into one super-frame, write to the TAP.
 *
 *   ESP       a raw IP protocol 50 socket (when permitted) and an ESP-in-UDP
 *             socket on the ESP port, both in the epoll set: recvmmsg,
 *             dp_esp_ingress each packet, then the TAP as for plain
 *             ingress; sealed packets go out with sendmmsg batches.
 *
 * Counters go to their own rows of the shared counter block (one per
 * direction); captured frames and VTEP probes to a bounded punt ring drained
 * by the binding.
 */
#ifndef OVERLAYD_IO_H
#define OVERLAYD_IO_H

#include <stddef.h>
#include <stdint.h>

#include "io/drop_events.h"
#include "io/punt.h"
#include "tables/tables.h"

/** Counter rows a worker writes: one for TAP → UDP, one for UDP → TAP. */
#define IO_ROWS_PER_WORKER 2
/** Counter rows of all workers. */
#define IO_COUNTER_ROWS (IO_ROWS_PER_WORKER * DP_MAX_WORKERS)

typedef struct io_config {
  /** Underlay address the sockets bind to. */
  dp_addr bind;
  /** Data port: the receive socket binds to it and VXLAN is sent to it. */
  uint16_t port;
  /** Sockets in the source pool (≥ 1). */
  int source_ports;
  /** Worker threads (1 … DP_MAX_WORKERS). */
  int workers;
  /** Adaptive busy polling: µs a worker keeps polling after traffic while a CPU is free (0: off). */
  int busy_poll_us;
  /** Run the worker SCHED_FIFO (falls back to a raised nice value when refused). */
  int realtime;
  /** ESP-in-UDP port (RFC 3948) received on and sent to; 0 picks one. */
  uint16_t esp_port;
} io_config;

/** What the offloads did (diagnostics; read without synchronisation, may lag slightly). */
typedef struct io_offload_stats {
  uint64_t tso_frames;     /* TSO super-frames read from TAPs */
  uint64_t tso_segments;   /* segments cut from them */
  uint64_t uso_frames;     /* UDP GSO super-frames read from TAPs (a sender's UDP_SEGMENT) */
  uint64_t uso_segments;   /* datagrams cut from them */
  uint64_t gso_sends;      /* UDP_SEGMENT sends of more than one datagram */
  uint64_t gso_datagrams;  /* datagrams carried by them */
  uint64_t gro_frames;     /* coalesced super-frames written to TAPs */
  uint64_t gro_segments;   /* segments coalesced into them */
  uint64_t gro_udp_frames; /* of those, UDP super-frames (written as UDP GSO) */
  uint64_t gro_udp_segments; /* datagrams coalesced into them */
  uint64_t udp_gro_buffers;/* received buffers holding more than one datagram */
  uint64_t tso_frames_in;  /* whole TCP super-frames received (kernel tunnel GSO), written as TSO */
  uint64_t uso_frames_in;  /* whole UDP super-frames received (kernel tunnel GSO), written as UDP GSO or cut */
  int gso_enabled;         /* UDP_SEGMENT in use (off after EIO) */
  int gro_enabled;         /* UDP_GRO enabled on the data socket */
} io_offload_stats;

typedef struct io_ctx io_ctx;

/**
 * Binds the sockets and starts the workers. `rows` points at IO_COUNTER_ROWS
 * counter rows of DP_COUNTER_SLOTS each (worker i: rows 2i and 2i + 1);
 * `punt` receives captured frames, `drops` the sampled drop events. Returns
 * the context, or NULL with `*err` = -errno.
 */
io_ctx *io_start(dp_tables *tables, const io_config *cfg, uint64_t *rows, punt_ring *punt, drop_sampler *drops,
                 int *err);
/** Stops the workers and closes the sockets (not the TAPs). */
void io_stop(io_ctx *io);
/** Queue `queue` of a network's TAP appeared: worker `queue` reads it. 0 or -errno. */
int io_tap_add(io_ctx *io, uint32_t vni, int queue, int fd);
/** Queue `queue` of a network's TAP goes away: its worker stops reading it before the caller closes it. */
void io_tap_remove(io_ctx *io, int queue, int fd);
/** Workers running. */
int io_workers(const io_ctx *io);
/** The bound data port (useful when cfg->port was 0). */
uint16_t io_data_port(const io_ctx *io);
/** The outer UDP source port of VXLAN with `flow_hash`: the port of the pool socket it picks. */
uint16_t io_source_port(const io_ctx *io, uint32_t flow_hash);
/** The bound ESP-in-UDP port (useful when cfg->esp_port was 0). */
uint16_t io_esp_port(const io_ctx *io);
/** Whether the raw IP protocol 50 socket is open (carrier `ip` can be sent and received). */
int io_esp_raw(const io_ctx *io);
/**
 * Sends one datagram from the calling thread (the agent's VTEP probes):
 * `carrier` -1 for VXLAN from the pool socket `flow_hash` picks to
 * `vtep`:data port, else ESP on that carrier (enum dp_carrier) as the
 * workers send it. 0 or -errno.
 */
int io_send(io_ctx *io, const dp_addr *vtep, uint32_t flow_hash, int carrier, const uint8_t *packet, size_t len);
/** Copies the offload statistics, summed over the workers. */
void io_get_offload_stats(const io_ctx *io, io_offload_stats *out);
/** Whether this platform has the I/O loops. */
int io_supported(void);

#endif

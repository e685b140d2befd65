/*
 * Outgoing datagrams of one worker (VXLAN, or ESP-in-UDP), sent in batches:
 * consecutive payloads to one VTEP from one source socket become one
 * UDP_SEGMENT (GSO) send — equal-size datagrams, the last may be shorter,
 * gathered from where they lie (one iovec each, or one for a contiguous run)
 * — and the batch goes out with sendmmsg. When the kernel refuses GSO (EIO)
 * it is turned off and the datagrams are resent one by one.
 */
#ifndef OVERLAYD_UDP_BATCH_H
#define OVERLAYD_UDP_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tables/tables.h"

#define UDP_BATCH_MAX 256
/** Most iovecs a batch gathers (UIO_MAXIOV). */
#define UDP_BATCH_IOV 1024

typedef struct udp_batch_msg {
  int sock;
  dp_addr vtep;
  uint16_t iov_first; /* its iovecs: iov[iov_first, iov_first + iov_n) */
  uint16_t iov_n;
  size_t len;     /* bytes in the run */
  uint16_t seg;   /* datagram size of the run (first datagram's length) */
  uint16_t nseg;  /* datagrams in the run */
  int closed;     /* last datagram was shorter than seg */
} udp_batch_msg;

typedef struct udp_batch {
  const int *socks; /* source pool */
  int pool;
  int v6;           /* sockets are AF_INET6 */
  uint16_t port;    /* destination (data) port */
  int gso;          /* UDP_SEGMENT usable */
  /** The udp_send drop counter: datagrams the kernel refused. */
  uint64_t *send_drops;
  /** Where GSO sends are tallied (io_offload_stats fields), may be NULL. */
  uint64_t *gso_sends, *gso_datagrams;
  int *gso_enabled;
  int n;
  udp_batch_msg msgs[UDP_BATCH_MAX];
  int niov;
  struct iovec iov[UDP_BATCH_IOV];
} udp_batch;

/** Prepares a batch sending from `socks` (pool of `pool`) to port `port`; GSO probed by the caller. */
void udp_batch_init(udp_batch *b, const int *socks, int pool, int v6, uint16_t port, int gso, uint64_t *send_drops);
/** Queues one payload for `vtep` from socket flow_hash % pool; flushes first when the batch is full. */
void udp_batch_add(udp_batch *b, const dp_addr *vtep, uint32_t flow_hash, uint8_t *payload, size_t len);
/** Sends everything queued; refused datagrams are counted as udp_send drops. */
void udp_batch_flush(udp_batch *b);

#endif

/*
 * TAP → UDP half of the worker:
 *
 *   TAP readable → readv [vnet_hdr | frame into the arena] → complete the
 *   partial checksum, or cut a TSO/USO super-frame into segments back to
 *   back → dp_egress per frame (the stages of pipeline/egress.c), VXLAN
 *   header written in place in the 8 bytes in front →
 *   udp_batch (contiguous runs to one VTEP become one GSO send) → sendmmsg
 *
 * The arena holds every frame and segment until the batch is flushed, so
 * nothing is allocated per packet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "esp/sa_table.h"
#include "io/capture.h"
#include "io/io_internal.h"
#include "pipeline/pipeline.h"
#include "tap/offload.h"
#include "udp/udp_batch.h"

#define ARENA_BYTES (8u << 20)
/* Room a read needs: the frame, its segments (worst case MSS 48) and fragments. */
#define READ_RESERVE (640u << 10)
#define FRAME_MAX (65536 + 64)
#define READS_PER_EVENT 64
#define MAX_SEGMENTS 2048
#define MAX_OVERFLOW 64

struct egress_worker {
  io_ctx *io;
  io_worker *wk;
  uint64_t *counters;
  uint8_t *arena;
  size_t used;
  udp_batch batch;
  udp_batch esp_udp; /* sealed packets of carrier udp: the ESP-in-UDP socket to the ESP port */
  udp_batch esp_raw; /* sealed packets of carrier ip: the raw protocol 50 socket */
  const dp_network *net; /* network of the TAP being read */
  int capture_outer; /* the frame being forwarded is captured as the datagrams it becomes */
  void *overflow[MAX_OVERFLOW]; /* fragment buffers that did not fit the arena */
  int overflow_n;
  struct {
    uint8_t *frame;
    size_t len;
  } segs[MAX_SEGMENTS];
  int nsegs;
};

void egress_flush(egress_worker *w) {
  udp_batch_flush(&w->batch);
  udp_batch_flush(&w->esp_udp);
  udp_batch_flush(&w->esp_raw);
  for (int i = 0; i < w->overflow_n; i++) free(w->overflow[i]);
  w->overflow_n = 0;
  w->used = 0;
}

static uint8_t *sink_buffer(void *ctx, size_t len) {
  egress_worker *w = ctx;
  if (ARENA_BYTES - w->used >= len) {
    uint8_t *p = w->arena + w->used;
    w->used += len;
    return p;
  }
  if (w->overflow_n == MAX_OVERFLOW) { /* overflow blocks are only freed after a flush */
    udp_batch_flush(&w->batch);
    udp_batch_flush(&w->esp_udp);
    udp_batch_flush(&w->esp_raw);
  }
  if (w->overflow_n == MAX_OVERFLOW) {
    for (int i = 0; i < w->overflow_n; i++) free(w->overflow[i]);
    w->overflow_n = 0;
  }
  uint8_t *p = malloc(len);
  if (p == NULL) abort();
  w->overflow[w->overflow_n++] = p;
  return p;
}

/* Outer capture of one datagram as it is handed to the socket (capture.h). */
static void capture_sent(egress_worker *w, const dp_addr *vtep, uint8_t proto, uint16_t local_port, uint16_t remote_port,
                         const uint8_t *data, size_t len) {
  if (!capture_vtep_match(&w->net->capture, vtep)) return;
  punt_meta m = {w->net->vni, PUNT_EGRESS, 1, proto, local_port, remote_port};
  capture_push(w->io->punt, w->counters, &m, vtep, data, len);
}

static void sink_send(void *ctx, const dp_addr *vtep, uint32_t hash, uint8_t *payload, size_t len) {
  egress_worker *w = ctx;
  if (w->capture_outer) capture_sent(w, vtep, IPPROTO_UDP, io_source_port(w->io, hash), w->io->port, payload, len);
  udp_batch_add(&w->batch, vtep, hash, payload, len);
}

static void sink_esp_send(void *ctx, const dp_addr *vtep, uint32_t hash, int carrier, uint8_t *packet, size_t len) {
  egress_worker *w = ctx;
  if (carrier == DP_CARRIER_UDP) {
    if (w->capture_outer) capture_sent(w, vtep, IPPROTO_UDP, w->io->esp_port, w->io->esp_port, packet, len);
    udp_batch_add(&w->esp_udp, vtep, hash, packet, len);
  } else if (w->io->esp_raw_sock >= 0) {
    if (w->capture_outer) capture_sent(w, vtep, IPPROTO_ESP, 0, 0, packet, len);
    udp_batch_add(&w->esp_raw, vtep, hash, packet, len);
  } else {
    w->counters[DP_C_DROPS + DP_DROP_UDP_SEND]++; /* no raw socket (EPERM at start) */
  }
}

/* An IGMP/MLD frame of a multicast network for the agent (docs/multicast.md); a full queue counts punt_overflow. */
static void sink_membership(void *ctx, const uint8_t *frame, size_t len) {
  egress_worker *w = ctx;
  punt_meta m = {w->net->vni, PUNT_MEMBERSHIP, 0, 0, 0, 0};
  capture_push(w->io->punt, w->counters, &m, NULL, frame, len); /* a full queue: punt_overflow */
}

static void sink_reply(void *ctx, const uint8_t *frame, size_t len) {
  egress_worker *w = ctx;
  vnet_hdr h;
  memset(&h, 0, sizeof h);
  struct iovec iov[2] = {{&h, sizeof h}, {(void *)frame, len}};
  if (writev(net_tap_queue(w->net, w->wk->index), iov, 2) < 0) w->counters[DP_C_DROPS + DP_DROP_TAP_WRITE]++;
}

/*
 * Capture of a frame read from the TAP: inner mode copies it here; outer mode
 * marks it, so that the datagrams it becomes are copied as they are sent. The
 * host filter is matched here, on the frame before sealing.
 */
static void capture_frame(egress_worker *w, const uint8_t *frame, size_t len) {
  const dp_capture *c = &w->net->capture;
  if (!capture_host_match(c, frame, len)) return;
  w->capture_outer = c->outer;
  if (!c->inner) return;
  const dp_addr *vtep = len >= 14 && !(frame[0] & 1) ? net_fdb_lookup(w->net, frame) : NULL;
  if (!capture_vtep_match(c, vtep)) return;
  punt_meta m = {w->net->vni, PUNT_EGRESS, 0, 0, 0, 0};
  capture_push(w->io->punt, w->counters, &m, vtep, frame, len);
}

static void egress_frame(egress_worker *w, uint8_t *frame, size_t len) {
  static const dp_egress_sink sink_proto = {NULL, sink_buffer, sink_send, sink_reply, sink_esp_send, 0, 0, NULL, sink_membership};
  dp_egress_sink sink = sink_proto;
  sink.ctx = w;
  sink.sa_slot = w->wk->slot;
  sink.data_port = w->io->port;
  if (w->net->capture.inner | w->net->capture.outer) capture_frame(w, frame, len);
  int verdict = dp_egress(w->net, frame, len, w->counters, &sink);
  w->capture_outer = 0;
  if (verdict != DP_PASS) {
    drop_site site = {w->net, 0, DROP_KIND_FRAME, NULL, frame, len};
    drop_offer(w->io->drops, w->wk->index, verdict, &site);
  }
}

static void record_segment(void *ctx, uint8_t *seg, size_t len) {
  egress_worker *w = ctx;
  if (w->nsegs == MAX_SEGMENTS) return;
  w->segs[w->nsegs].frame = seg;
  w->segs[w->nsegs].len = len;
  w->nsegs++;
}

/* One read: a plain frame, or a super-frame cut into segments. 0; -1 when the TAP is drained; -2 when it failed. */
static int read_one(egress_worker *w, int fd) {
  if (ARENA_BYTES - w->used < READ_RESERVE) egress_flush(w);
  vnet_hdr h;
  uint8_t *frame = w->arena + w->used + DP_HEADROOM;
  struct iovec iov[2] = {{&h, sizeof h}, {frame, FRAME_MAX}};
  ssize_t n = readv(fd, iov, 2);
  if (n < 0) return errno == EINTR ? 0 : errno == EAGAIN ? -1 : -2;
  if ((size_t)n < sizeof h) return 0;
  size_t len = (size_t)n - sizeof h;
  w->used += DP_HEADROOM + len + DP_TAILROOM;

  if ((h.gso_type & ~VNET_GSO_ECN) == VNET_GSO_NONE) {
    if ((h.flags & VNET_F_NEEDS_CSUM) && offload_complete_csum(frame, len, h.csum_start, h.csum_offset) < 0) {
      w->counters[DP_C_DROPS + DP_DROP_MALFORMED]++;
      return 0;
    }
    egress_frame(w, frame, len);
    return 0;
  }
  w->nsegs = 0;
  long used = gso_segment(frame, len, &h, w->arena + w->used, ARENA_BYTES - w->used, DP_HEADROOM, DP_TAILROOM,
                          record_segment, w);
  if (used < 0 || w->nsegs == MAX_SEGMENTS) {
    w->counters[DP_C_DROPS + DP_DROP_MALFORMED]++;
    return 0;
  }
  w->used += (size_t)used;
  io_offload_stats *st = &w->wk->stats;
  if ((h.gso_type & ~VNET_GSO_ECN) == VNET_GSO_UDP_L4) {
    st->uso_frames++;
    st->uso_segments += (uint64_t)w->nsegs;
  } else {
    st->tso_frames++;
    st->tso_segments += (uint64_t)w->nsegs;
  }
  for (int i = 0; i < w->nsegs; i++) egress_frame(w, w->segs[i].frame, w->segs[i].len);
  return 0;
}

int egress_drain_tap(egress_worker *w, uint32_t vni, int fd) {
  dp_tables *t = w->io->tables;
  int frames = 0;
  int queue = w->wk->index;
  tables_read_lock(t, w->wk->slot);
  const dp_network *net = tables_network(t, vni);
  if (net != NULL && queue < net->tap_queues && net->tap_fds[queue] == fd) {
    w->net = net;
    int rc = 0;
    while (frames < READS_PER_EVENT && (rc = read_one(w, fd)) == 0) frames++;
    /* A TAP whose device went away polls as an error forever: stop watching it (removeNetwork closes it). */
    if (rc == -2) io_tap_remove(w->io, queue, fd);
    w->net = NULL;
  }
  tables_read_unlock(t, w->wk->slot);
  return frames;
}

egress_worker *egress_create(io_worker *wk) {
  io_ctx *io = wk->io;
  egress_worker *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->io = io;
  w->wk = wk;
  w->counters = wk->egress_counters;
  w->arena = malloc(ARENA_BYTES);
  if (w->arena == NULL) {
    free(w);
    return NULL;
  }
  uint64_t *send_drops = &w->counters[DP_C_DROPS + DP_DROP_UDP_SEND];
  udp_batch_init(&w->batch, io->pool, io->pool_size, io->v6, io->port, io->gso, send_drops);
  /*
   * ESP-in-UDP from the worker's ESP socket: TSO segments of one flow seal to
   * equal sizes, so they go out as GSO trains like plain VXLAN. A raw
   * protocol 50 socket cannot segment: sendmmsg batches.
   */
  udp_batch_init(&w->esp_udp, &wk->esp_udp_sock, 1, io->v6, io->esp_port, io->gso, send_drops);
  udp_batch_init(&w->esp_raw, &io->esp_raw_sock, 1, io->v6, 0, 0, send_drops);
  udp_batch *gso_batches[] = {&w->batch, &w->esp_udp};
  for (int i = 0; i < 2; i++) {
    gso_batches[i]->gso_sends = &wk->stats.gso_sends;
    gso_batches[i]->gso_datagrams = &wk->stats.gso_datagrams;
    gso_batches[i]->gso_enabled = &wk->stats.gso_enabled;
  }
  return w;
}

void egress_destroy(egress_worker *w) {
  if (w == NULL) return;
  egress_flush(w);
  free(w->arena);
  free(w);
}

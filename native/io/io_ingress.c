/*
 * UDP → TAP half of the worker:
 *
 *   data socket readable → recvmmsg bursts (UDP_GRO: one buffer may hold
 *   several datagrams of the cmsg's segment size) → split → dp_ingress per
 *   datagram (the stages of pipeline/ingress.c) → deliver: a whole TCP or
 *   UDP super-frame (a kernel vxlan sender's tunnel GSO) is written as
 *   TSO or UDP GSO; otherwise the inner checksum is checked and in-order
 *   TCP segments of one flow are coalesced into one super-frame
 *   (virtio_net_hdr GSO_TCPV4/6), and so are equal-sized UDP datagrams of
 *   one flow where the TAP takes UDP GSO (GSO_UDP_L4) → write to the
 *   network's TAP; anything else is written singly. A VTEP probe goes to
 *   the punt queue instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/addr.h"
#include "esp/sa_table.h"
#include "io/capture.h"
#include "io/io_internal.h"
#include "pipeline/pipeline.h"
#include "tap/offload.h"
#include "tap/tap.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define RX_BATCH 32
#define RX_BUF (65536 + 512)
/*
 * Room to cut one UDP super-frame (a Linux sender's train: at most 128
 * datagrams) where the TAP takes no UDP GSO: the payload once, the headers
 * once per datagram (Ethernet with two VLAN tags, IPv4 with options, UDP:
 * at most 90 bytes).
 */
#define CUT_MAX 128
#define CUT_BUF (RX_BUF + CUT_MAX * 96)

struct ingress_worker {
  io_ctx *io;
  io_worker *wk;
  uint64_t *counters;
  uint8_t *bufs; /* RX_BATCH × RX_BUF */
  /* An ESP packet held for a capture with a host filter until it opened (held_len 0: none). */
  uint8_t *held;
  size_t held_len;
  punt_meta held_meta;
  gro_run run;
  /* The sender's datagram size while a whole UDP super-frame (tunnel GSO) goes through the ingress checks; else 0. */
  uint16_t inner_gso_size;
  uint8_t *cut; /* CUT_BUF: a UDP super-frame cut into datagrams */
  struct {
    uint8_t *frame;
    size_t len;
  } cuts[CUT_MAX];
  int ncut;
  struct mmsghdr mm[RX_BATCH];
  struct iovec iov[RX_BATCH];
  struct sockaddr_storage from[RX_BATCH];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl[RX_BATCH];
};

static void write_tap(ingress_worker *w, const dp_network *net, vnet_hdr *h, const uint8_t *frame, size_t len) {
  struct iovec iov[2] = {{h, sizeof *h}, {(void *)frame, len}};
  if (writev(net_tap_queue(net, w->wk->index), iov, 2) < 0) w->counters[DP_C_DROPS + DP_DROP_TAP_WRITE]++;
}

static void record_cut(void *ctx, uint8_t *seg, size_t len) {
  ingress_worker *w = ctx;
  if (w->ncut < CUT_MAX) {
    w->cuts[w->ncut].frame = seg;
    w->cuts[w->ncut].len = len;
  }
  w->ncut++;
}

/* A whole UDP super-frame: written as UDP GSO where the TAP takes it, else cut here into datagrams written one by one. */
static void write_udp_superframe(ingress_worker *w, const dp_network *net, vnet_hdr *h, const uint8_t *frame, size_t len) {
  if (tap_uso_enabled()) {
    write_tap(w, net, h, frame, len);
    return;
  }
  w->ncut = 0;
  if (gso_segment(frame, len, h, w->cut, CUT_BUF, 0, 0, record_cut, w) < 0 || w->ncut > CUT_MAX) {
    w->counters[DP_C_DROPS + DP_DROP_MALFORMED]++;
    return;
  }
  vnet_hdr none;
  memset(&none, 0, sizeof none);
  for (int i = 0; i < w->ncut; i++) write_tap(w, net, &none, w->cuts[i].frame, w->cuts[i].len);
}

static void flush_run(ingress_worker *w) {
  if (w->run.segs == 0) return;
  const dp_network *net = w->run.owner;
  int segs = w->run.segs;
  if (segs > 1) {
    io_offload_stats *st = &w->wk->stats;
    st->gro_frames++;
    st->gro_segments += (uint64_t)segs;
    if (w->run.proto == 17) {
      st->gro_udp_frames++;
      st->gro_udp_segments += (uint64_t)segs;
    }
  }
  int iovcnt = gro_finish(&w->run);
  if (writev(net_tap_queue(net, w->wk->index), w->run.iov, iovcnt) < 0) w->counters[DP_C_DROPS + DP_DROP_TAP_WRITE] += (uint64_t)segs;
}

/* An inner frame that passed the ingress checks (plain or ESP): capture, then the TAP; a probe to the agent. */
static void deliver(ingress_worker *w, const dp_delivery *d, const dp_addr *src) {
  dp_network *net = d->net;
  uint8_t *frame = d->frame;
  size_t flen = d->len;
  if (d->probe) {
    punt_meta pm = {net->vni, PUNT_PROBE, 0, 0, 0, 0};
    capture_push(w->io->punt, w->counters, &pm, src, frame, flen);
    return;
  }
  const dp_capture *c = &net->capture;
  if (c->inner && capture_vtep_match(c, src) && capture_host_match(c, frame, flen)) {
    punt_meta m = {net->vni, PUNT_INGRESS, 0, 0, 0, 0};
    capture_push(w->io->punt, w->counters, &m, src, frame, flen);
  }
  if (w->held_len > 0 && capture_host_match(c, frame, flen)) capture_push(w->io->punt, w->counters, &w->held_meta, src, w->held, w->held_len);
  if (net->tap_queues == 0) {
    w->counters[DP_C_DROPS + DP_DROP_TAP_WRITE]++;
    return;
  }
  /*
   * Inner checksums are verified here (the kernel does the same for its own
   * vxlan): coalesced frames go to the TAP as CHECKSUM_PARTIAL, which the
   * kernel would not check again. A partial checksum is what a sender on
   * this host left over a veth (its offload never met a wire): passed on as
   * partial. A bad one is written unchanged for the kernel to drop.
   */
  vnet_hdr h;
  memset(&h, 0, sizeof h);
  if (flen > (size_t)net->mtu + 14 && offload_gso_hdr(frame, flen, net->mtu, w->inner_gso_size, &h) == 0) {
    flush_run(w);
    if (h.gso_type != VNET_GSO_UDP_L4) {
      w->wk->stats.tso_frames_in++;
      write_tap(w, net, &h, frame, flen);
    } else {
      w->wk->stats.uso_frames_in++;
      write_udp_superframe(w, net, &h, frame, flen);
    }
    return;
  }
  uint16_t csum_start = 0, csum_offset = 0;
  int csum = offload_l4_csum(frame, flen, &csum_start, &csum_offset);
  if (gro_append(&w->run, net, frame, flen, csum)) return;
  flush_run(w);
  if (gro_start(&w->run, net, frame, flen, csum)) return;
  if (csum == L4_CSUM_PARTIAL) {
    h.flags = VNET_F_NEEDS_CSUM;
    h.csum_start = csum_start;
    h.csum_offset = csum_offset;
  }
  write_tap(w, net, &h, frame, flen);
}

static uint16_t sockaddr_port(const struct sockaddr_storage *sa) {
  return ntohs(sa->ss_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port : ((const struct sockaddr_in6 *)sa)->sin6_port);
}

/*
 * Outer capture of a received packet, before it is opened or decapsulated
 * (capture.h); `m` says how it came. Plain VXLAN is matched on its inner
 * frame at once; ESP under a host filter is held until it opened (deliver
 * matches the opened frame), else copied at once, whatever opening finds.
 */
static void capture_received(ingress_worker *w, const dp_addr *src, punt_meta m, const uint8_t *data, size_t len, int esp) {
  const dp_network *net = capture_ingress_network(w->io->tables, src, data, len, esp);
  if (net == NULL) return;
  m.vni = net->vni;
  if (esp && net->capture.has_host) {
    memcpy(w->held, data, len);
    w->held_len = len;
    w->held_meta = m;
    return;
  }
  if (!esp && !capture_host_match(&net->capture, data + DP_VXLAN_HLEN, len - DP_VXLAN_HLEN)) return;
  capture_push(w->io->punt, w->counters, &m, src, data, len);
}

/*
 * A dropped datagram: counted for its network when the VXLAN header names one
 * this host has (the read lock is held), and offered as a drop event.
 */
__attribute__((cold, noinline)) static void ingress_dropped(ingress_worker *w, const dp_addr *src, const uint8_t *p,
                                                            size_t len, int verdict, int kind) {
  const dp_network *net = NULL;
  if (kind == DROP_KIND_VXLAN && len >= DP_VXLAN_HLEN && (p[0] & 0x08))
    net = tables_network(w->io->tables, (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6]);
  drop_site site = {net, 1, kind, src, p, len};
  drop_offer(w->io->drops, w->wk->index, verdict, &site);
}

static void ingress_datagram(ingress_worker *w, const dp_addr *src, const punt_meta *m, uint8_t *payload, size_t len) {
  dp_delivery d;
  if (m != NULL) capture_received(w, src, *m, payload, len, 0);
  int verdict = dp_ingress(w->io->tables, src, payload, len, w->wk->slot, w->counters, &d, NULL);
  if (verdict == DP_PASS) deliver(w, &d, src);
  else ingress_dropped(w, src, payload, len, verdict, DROP_KIND_VXLAN);
}

/* How a packet received in buffer i came, for an outer capture; NULL while no network captures (`capturing`, read once per burst). */
static const punt_meta *received_meta(ingress_worker *w, int capturing, int i, uint8_t proto, uint16_t local_port, punt_meta *m) {
  if (!capturing) return NULL;
  punt_meta in = {0, PUNT_INGRESS, 1, proto, local_port, proto == IPPROTO_UDP ? sockaddr_port(&w->from[i]) : 0};
  *m = in;
  return m;
}

static int gro_size(struct msghdr *m) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int size;
      memcpy(&size, CMSG_DATA(c), sizeof size);
      return size;
    }
  }
  return 0;
}

/* One recvmmsg burst from `fd` into the worker's buffers (with room for a UDP_GRO cmsg each); returns how many. */
static int receive_burst(ingress_worker *w, int fd) {
  for (int i = 0; i < RX_BATCH; i++) {
    w->mm[i].msg_hdr.msg_name = &w->from[i];
    w->mm[i].msg_hdr.msg_namelen = sizeof w->from[i];
    w->mm[i].msg_hdr.msg_control = w->ctl[i].buf;
    w->mm[i].msg_hdr.msg_controllen = sizeof w->ctl[i].buf;
    w->mm[i].msg_hdr.msg_flags = 0;
  }
  int n = recvmmsg(fd, w->mm, RX_BATCH, MSG_DONTWAIT, NULL);
  return n > 0 ? n : 0;
}

/*
 * The datagram size of received buffer i: UDP_GRO may have joined several
 * datagrams of its cmsg's size (counted), or, VXLAN in `vxlan`, the buffer
 * is one whole tunnel super-frame of a kernel sender whose inner UDP GSO
 * train has that datagram size (its inner IP header spans the buffer): then
 * the buffer's length, with the inner size in w->inner_gso_size.
 */
static size_t datagram_size(ingress_worker *w, int i, const uint8_t *vxlan) {
  size_t len = w->mm[i].msg_len;
  size_t seg = (size_t)gro_size(&w->mm[i].msg_hdr);
  w->inner_gso_size = 0;
  if (seg == 0 || seg >= len) return len;
  if (vxlan != NULL && len > DP_VXLAN_HLEN && offload_spans(vxlan + DP_VXLAN_HLEN, len - DP_VXLAN_HLEN)) {
    w->inner_gso_size = (uint16_t)seg;
    return len;
  }
  w->wk->stats.udp_gro_buffers++;
  return seg;
}

int ingress_receive(ingress_worker *w) {
  io_ctx *io = w->io;
  int n = receive_burst(w, w->wk->rx_sock);
  if (n == 0) return 0;
  w->run.udp = tap_uso_enabled();
  tables_read_lock(io->tables, w->wk->slot);
  int capturing = io->tables->capturing;
  for (int i = 0; i < n; i++) {
    dp_addr src;
    addr_from_sockaddr((struct sockaddr *)&w->from[i], &src);
    punt_meta mbuf;
    const punt_meta *m = received_meta(w, capturing, i, IPPROTO_UDP, io->port, &mbuf);
    uint8_t *buf = w->bufs + (size_t)i * RX_BUF;
    size_t len = w->mm[i].msg_len;
    size_t seg = datagram_size(w, i, buf);
    if (len == 0) ingress_datagram(w, &src, m, buf, 0); /* an empty datagram is counted as malformed too */
    for (size_t off = 0; off < len; off += seg) {
      size_t dlen = len - off < seg ? len - off : seg;
      ingress_datagram(w, &src, m, buf + off, dlen);
    }
    w->inner_gso_size = 0;
  }
  flush_run(w);
  tables_read_unlock(io->tables, w->wk->slot);
  return n;
}

static void esp_packet(ingress_worker *w, const dp_addr *src, const punt_meta *m, uint8_t *packet, size_t len) {
  dp_delivery d;
  if (m != NULL) capture_received(w, src, *m, packet, len, 1);
  int verdict = dp_esp_ingress(w->io->tables, src, packet, len, w->wk->slot, w->counters, &d);
  if (verdict == DP_PASS) deliver(w, &d, src);
  else ingress_dropped(w, src, packet, len, verdict, DROP_KIND_ESP);
  w->held_len = 0;
}

int ingress_receive_esp(ingress_worker *w, int fd, int raw) {
  io_ctx *io = w->io;
  int n = receive_burst(w, fd);
  if (n == 0) return 0;
  w->run.udp = tap_uso_enabled();
  tables_read_lock(io->tables, w->wk->slot);
  int capturing = io->tables->capturing;
  for (int i = 0; i < n; i++) {
    dp_addr src;
    addr_from_sockaddr((struct sockaddr *)&w->from[i], &src);
    punt_meta mbuf;
    const punt_meta *m = received_meta(w, capturing, i, raw ? IPPROTO_ESP : IPPROTO_UDP, raw ? 0 : io->esp_port, &mbuf);
    uint8_t *packet = w->bufs + (size_t)i * RX_BUF;
    size_t len = w->mm[i].msg_len;
    if (raw) {
      if (w->from[i].ss_family == AF_INET) {
        /* IPv4 raw receive includes the IP header; IPv6 does not. */
        size_t ihl = len > 0 ? (size_t)(packet[0] & 0x0f) * 4 : 0;
        if (ihl < 20 || ihl > len) ihl = len;
        packet += ihl;
        len -= ihl;
      }
      esp_packet(w, &src, m, packet, len);
      continue;
    }
    size_t seg = datagram_size(w, i, NULL); /* ESP-in-UDP: GRO joins equal-sized packets of a peer */
    if (len == 0) esp_packet(w, &src, m, packet, 0);
    for (size_t off = 0; off < len; off += seg) esp_packet(w, &src, m, packet + off, len - off < seg ? len - off : seg);
  }
  flush_run(w);
  tables_read_unlock(io->tables, w->wk->slot);
  return n;
}

ingress_worker *ingress_create(io_worker *wk) {
  ingress_worker *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->io = wk->io;
  w->wk = wk;
  w->counters = wk->ingress_counters;
  w->bufs = malloc((size_t)RX_BATCH * RX_BUF);
  w->run.buf = malloc(GRO_BUF_LEN);
  w->held = malloc(RX_BUF);
  w->cut = malloc(CUT_BUF);
  if (w->bufs == NULL || w->run.buf == NULL || w->held == NULL || w->cut == NULL) {
    ingress_destroy(w);
    return NULL;
  }
  for (int i = 0; i < RX_BATCH; i++) {
    w->iov[i].iov_base = w->bufs + (size_t)i * RX_BUF;
    w->iov[i].iov_len = RX_BUF;
    w->mm[i].msg_hdr.msg_iov = &w->iov[i];
    w->mm[i].msg_hdr.msg_iovlen = 1;
  }
  return w;
}

void ingress_destroy(ingress_worker *w) {
  if (w == NULL) return;
  free(w->bufs);
  free(w->run.buf);
  free(w->held);
  free(w->cut);
  free(w);
}

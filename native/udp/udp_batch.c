/* Batched VXLAN sends with UDP GSO; see udp_batch.h. */
#define _GNU_SOURCE
#include "udp/udp_batch.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#include "base/addr.h"
#include "tap/offload.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* Largest UDP payload one GSO send may carry (IPv4: 65535 − 20 − 8, rounded down for safety). */
#define GSO_MAX_BYTES 65000

void udp_batch_init(udp_batch *b, const int *socks, int pool, int v6, uint16_t port, int gso, uint64_t *send_drops) {
  memset(b, 0, sizeof *b);
  b->socks = socks;
  b->pool = pool;
  b->v6 = v6;
  b->port = port;
  b->gso = gso;
  b->send_drops = send_drops;
}

void udp_batch_add(udp_batch *b, const dp_addr *vtep, uint32_t flow_hash, uint8_t *payload, size_t len) {
  int sock = b->socks[flow_hash % (uint32_t)b->pool];
  if (b->n > 0 && b->gso) {
    udp_batch_msg *m = &b->msgs[b->n - 1];
    if (m->sock == sock && m->base + m->len == payload && !m->closed && len <= m->seg &&
        m->nseg < OFFLOAD_MAX_SEGMENTS && m->len + len <= GSO_MAX_BYTES && memcmp(&m->vtep, vtep, sizeof *vtep) == 0) {
      m->len += len;
      m->nseg++;
      m->closed = len < m->seg;
      return;
    }
  }
  if (b->n == UDP_BATCH_MAX) udp_batch_flush(b);
  udp_batch_msg *m = &b->msgs[b->n++];
  m->sock = sock;
  m->vtep = *vtep;
  m->base = payload;
  m->len = len;
  m->seg = (uint16_t)len;
  m->nseg = 1;
  m->closed = 0;
}

/* One datagram at a time: the fallback after EIO. */
static void send_plain(udp_batch *b, const udp_batch_msg *m) {
  struct sockaddr_storage dst;
  socklen_t dlen = addr_to_sockaddr(&m->vtep, b->port, b->v6, &dst);
  for (size_t off = 0; off < m->len; off += m->seg) {
    size_t n = m->len - off < m->seg ? m->len - off : m->seg;
    ssize_t rc;
    do rc = sendto(m->sock, m->base + off, n, 0, (struct sockaddr *)&dst, dlen);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) (*b->send_drops)++;
  }
}

/* Sends msgs[from, to), all on one socket, with sendmmsg. */
static void send_group(udp_batch *b, int from, int to) {
  struct mmsghdr mm[UDP_BATCH_MAX];
  struct iovec iov[UDP_BATCH_MAX];
  struct sockaddr_storage dst[UDP_BATCH_MAX];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[UDP_BATCH_MAX];
  int n = to - from;
  memset(mm, 0, sizeof(mm[0]) * (size_t)n);
  for (int i = 0; i < n; i++) {
    udp_batch_msg *m = &b->msgs[from + i];
    iov[i].iov_base = m->base;
    iov[i].iov_len = m->len;
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
    mm[i].msg_hdr.msg_name = &dst[i];
    mm[i].msg_hdr.msg_namelen = addr_to_sockaddr(&m->vtep, b->port, b->v6, &dst[i]);
    if (m->nseg > 1) {
      memset(&ctl[i], 0, sizeof ctl[i]);
      mm[i].msg_hdr.msg_control = ctl[i].buf;
      mm[i].msg_hdr.msg_controllen = sizeof ctl[i].buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(&mm[i].msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t seg = m->seg;
      memcpy(CMSG_DATA(c), &seg, sizeof seg);
    }
  }
  int sock = b->msgs[from].sock;
  for (int done = 0; done < n;) {
    int rc = sendmmsg(sock, mm + done, (unsigned)(n - done), 0);
    if (rc > 0) {
      for (int i = done; i < done + rc; i++) {
        if (b->msgs[from + i].nseg > 1 && b->gso_sends) {
          (*b->gso_sends)++;
          *b->gso_datagrams += b->msgs[from + i].nseg;
        }
      }
      done += rc;
      continue;
    }
    if (rc < 0 && errno == EINTR) continue;
    /* msgs[from + done] was refused. */
    udp_batch_msg *m = &b->msgs[from + done];
    if (rc < 0 && errno == EIO && m->nseg > 1) {
      b->gso = 0; /* the path cannot segment: plain datagrams from now on */
      if (b->gso_enabled) *b->gso_enabled = 0;
      send_plain(b, m);
    } else if (rc < 0 && (errno == EINVAL || errno == EMSGSIZE) && m->nseg > 1) {
      /* Datagrams larger than the route MTU allow: GSO refuses them, plain sends let the kernel fragment. */
      send_plain(b, m);
    } else {
      *b->send_drops += m->nseg;
    }
    done++;
  }
}

void udp_batch_flush(udp_batch *b) {
  int from = 0;
  for (int i = 1; i <= b->n; i++) {
    if (i == b->n || b->msgs[i].sock != b->msgs[from].sock) {
      send_group(b, from, i);
      from = i;
    }
  }
  b->n = 0;
}

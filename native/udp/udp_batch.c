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

/* Appends `len` bytes at `payload` to the last message's iovecs (growing the last one when contiguous). */
static void gather(udp_batch *b, udp_batch_msg *m, uint8_t *payload, size_t len) {
  struct iovec *last = &b->iov[m->iov_first + m->iov_n - 1];
  if ((uint8_t *)last->iov_base + last->iov_len == payload) {
    last->iov_len += len;
    return;
  }
  b->iov[b->niov].iov_base = payload;
  b->iov[b->niov].iov_len = len;
  b->niov++;
  m->iov_n++;
}

void udp_batch_add(udp_batch *b, const dp_addr *vtep, uint32_t flow_hash, uint8_t *payload, size_t len) {
  int sock = b->socks[flow_hash % (uint32_t)b->pool];
  if (b->n > 0 && b->gso && b->niov < UDP_BATCH_IOV) {
    udp_batch_msg *m = &b->msgs[b->n - 1];
    if (m->sock == sock && !m->closed && len <= m->seg && m->nseg < OFFLOAD_MAX_SEGMENTS &&
        m->len + len <= GSO_MAX_BYTES && memcmp(&m->vtep, vtep, sizeof *vtep) == 0) {
      gather(b, m, payload, len);
      m->len += len;
      m->nseg++;
      m->closed = len < m->seg;
      return;
    }
  }
  if (b->n == UDP_BATCH_MAX || b->niov == UDP_BATCH_IOV) udp_batch_flush(b);
  udp_batch_msg *m = &b->msgs[b->n++];
  m->sock = sock;
  m->vtep = *vtep;
  m->iov_first = (uint16_t)b->niov;
  m->iov_n = 1;
  b->iov[b->niov].iov_base = payload;
  b->iov[b->niov].iov_len = len;
  b->niov++;
  m->len = len;
  m->seg = (uint16_t)len;
  m->nseg = 1;
  m->closed = 0;
}

/* One datagram at a time: the fallback after EIO. A datagram never spans two iovecs. */
static void send_plain(udp_batch *b, const udp_batch_msg *m) {
  struct sockaddr_storage dst;
  socklen_t dlen = addr_to_sockaddr(&m->vtep, b->port, b->v6, &dst);
  for (int i = m->iov_first; i < m->iov_first + m->iov_n; i++) {
    const uint8_t *base = b->iov[i].iov_base;
    size_t len = b->iov[i].iov_len;
    for (size_t off = 0; off < len; off += m->seg) {
      size_t n = len - off < m->seg ? len - off : m->seg;
      ssize_t rc;
      do rc = sendto(m->sock, base + off, n, 0, (struct sockaddr *)&dst, dlen);
      while (rc < 0 && errno == EINTR);
      if (rc < 0) (*b->send_drops)++;
    }
  }
}

/* Sends msgs[from, to), all on one socket, with sendmmsg. */
static void send_group(udp_batch *b, int from, int to) {
  struct mmsghdr mm[UDP_BATCH_MAX];
  struct sockaddr_storage dst[UDP_BATCH_MAX];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[UDP_BATCH_MAX];
  int n = to - from;
  memset(mm, 0, sizeof(mm[0]) * (size_t)n);
  for (int i = 0; i < n; i++) {
    udp_batch_msg *m = &b->msgs[from + i];
    mm[i].msg_hdr.msg_iov = &b->iov[m->iov_first];
    mm[i].msg_hdr.msg_iovlen = m->iov_n;
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
  b->niov = 0;
}

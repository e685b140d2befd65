/* TAP offloads: checksum completion, TSO segmentation, TCP coalescing. See offload.h. */
#include "tap/offload.h"

#include <string.h>

#include "base/csum.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_CWR 0x80

int offload_complete_csum(uint8_t *frame, size_t len, uint16_t csum_start, uint16_t csum_offset) {
  if ((size_t)csum_start + csum_offset + 2 > len) return -1;
  uint16_t c = csum_finish(csum_add(0, frame + csum_start, len - csum_start));
  wr16(frame + csum_start + csum_offset, c);
  return 0;
}

/*
 * Offsets of a TCP (`proto` 6) or UDP (17) over IP frame; l3off after up to
 * two VLAN tags, *thlen the L4 header's length, *v6 its IP version. -1 when
 * it is not one.
 */
static int l4_layout(const uint8_t *frame, size_t len, uint8_t proto, size_t *l3off, size_t *l4off, size_t *thlen, int *v6) {
  size_t off = 12;
  uint16_t type = rd16(frame + off);
  for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2; tags++) {
    if (len < off + 6) return -1;
    off += 4;
    type = rd16(frame + off);
  }
  *l3off = off + 2;
  const uint8_t *ip = frame + *l3off;
  *v6 = type == 0x86dd;
  if (!*v6) {
    if (type != 0x0800 || len < *l3off + 20 || ip[0] >> 4 != 4 || (ip[0] & 0x0f) < 5 || ip[9] != proto) return -1;
    *l4off = *l3off + (size_t)(ip[0] & 0x0f) * 4;
  } else {
    if (len < *l3off + 40 || ip[0] >> 4 != 6 || ip[6] != proto) return -1;
    *l4off = *l3off + 40;
  }
  if (proto == 17) {
    *thlen = 8;
    return len < *l4off + 8 ? -1 : 0;
  }
  if (len < *l4off + 20) return -1;
  *thlen = (size_t)(frame[*l4off + 12] >> 4) * 4;
  if (*thlen < 20 || len < *l4off + *thlen) return -1;
  return 0;
}

long gso_segment(const uint8_t *frame, size_t len, const vnet_hdr *h, uint8_t *out, size_t cap, size_t headroom,
                 size_t tailroom, tso_emit_fn emit, void *ctx) {
  uint8_t type = h->gso_type & ~VNET_GSO_ECN;
  int udp = type == VNET_GSO_UDP_L4, v6;
  uint8_t proto = udp ? 17 : 6;
  size_t l3off, l4off, thlen;
  if (len < 14 || h->gso_size == 0 || (!udp && type != VNET_GSO_TCPV4 && type != VNET_GSO_TCPV6)) return -1;
  if (l4_layout(frame, len, proto, &l3off, &l4off, &thlen, &v6) < 0 || (!udp && v6 != (type == VNET_GSO_TCPV6))) return -1;
  size_t hdr = l4off + thlen, mss = h->gso_size;
  size_t data = len - hdr;
  size_t nseg = data == 0 ? 1 : (data + mss - 1) / mss;
  if (nseg * (headroom + hdr + tailroom) + data > cap) return -1;
  const uint8_t *ip = frame + l3off, *th = frame + l4off;
  uint16_t id0 = rd16(ip + 4);
  uint32_t seq0 = udp ? 0 : rd32(th + 4);
  uint8_t flags = udp ? 0 : th[13];
  uint8_t field = udp ? 6 : 16; /* where the L4 checksum goes */
  size_t used = 0;
  for (size_t i = 0, done = 0; i < nseg; i++) {
    size_t chunk = data - done < mss ? data - done : mss;
    uint8_t *seg = out + used + headroom;
    memcpy(seg, frame, hdr);
    uint32_t data_sum = csum_copy(0, seg + hdr, frame + hdr + done, chunk); /* thlen is even: the sums add */
    uint8_t *sip = seg + l3off, *sth = seg + l4off;
    size_t l4len = thlen + chunk;
    if (!v6) {
      wr16(sip + 2, (uint16_t)(l4off - l3off + l4len));
      wr16(sip + 4, (uint16_t)(id0 + i));
      wr16(sip + 10, 0);
      wr16(sip + 10, csum_finish(csum_add(0, sip, l4off - l3off)));
    } else {
      wr16(sip + 4, (uint16_t)(l4off - l3off - 40 + l4len));
    }
    if (udp) {
      wr16(sth + 4, (uint16_t)l4len);
    } else {
      wr32(sth + 4, seq0 + (uint32_t)done);
      uint8_t f = flags;
      if (i + 1 < nseg) f &= (uint8_t)~(TCP_FIN | TCP_PSH);
      if (i > 0) f &= (uint8_t)~TCP_CWR;
      sth[13] = f;
    }
    wr16(sth + field, 0);
    uint32_t sum = csum_pseudo(v6 ? 6 : 4, v6 ? sip + 8 : sip + 12, v6 ? sip + 24 : sip + 16, proto, (uint32_t)l4len);
    uint16_t c = csum_finish(csum_add(sum, sth, thlen) + data_sum);
    wr16(sth + field, udp && c == 0 ? 0xffff : c); /* a UDP checksum of 0 is sent as all ones */
    emit(ctx, seg, hdr + chunk);
    used += headroom + hdr + chunk + tailroom;
    done += chunk;
  }
  return (long)used;
}

int offload_l4_csum(const uint8_t *frame, size_t len, uint16_t *csum_start, uint16_t *csum_offset) {
  if (len < 14 + 20) return L4_CSUM_NONE;
  uint16_t type = rd16(frame + 12);
  const uint8_t *ip = frame + 14;
  size_t l4off, l4len;
  uint8_t proto;
  uint32_t pseudo;
  if (type == 0x0800) {
    size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
    size_t total = rd16(ip + 2);
    if (ip[0] >> 4 != 4 || hlen < 20 || total < hlen || 14 + total > len || (rd16(ip + 6) & 0x3fff) != 0) return L4_CSUM_NONE;
    proto = ip[9];
    l4off = 14 + hlen;
    l4len = total - hlen;
    pseudo = csum_pseudo(4, ip + 12, ip + 16, proto, (uint32_t)l4len);
  } else if (type == 0x86dd) {
    if (len < 14 + 40 || ip[0] >> 4 != 6 || 14 + 40 + (size_t)rd16(ip + 4) > len) return L4_CSUM_NONE;
    proto = ip[6];
    l4off = 54;
    l4len = rd16(ip + 4);
    pseudo = csum_pseudo(6, ip + 8, ip + 24, proto, (uint32_t)l4len);
  } else {
    return L4_CSUM_NONE;
  }
  uint16_t field_off;
  if (proto == 6 && l4len >= 20) field_off = 16;
  else if (proto == 17 && l4len >= 8) field_off = 6;
  else return L4_CSUM_NONE;
  const uint8_t *l4 = frame + l4off;
  uint16_t field = rd16(l4 + field_off);
  if (proto == 17 && type == 0x0800 && field == 0) return L4_CSUM_NONE; /* IPv4 UDP without checksum */
  if (csum_finish(csum_add(pseudo, l4, l4len)) == 0) return L4_CSUM_VALID;
  if (field == csum_fold(pseudo)) {
    *csum_start = (uint16_t)l4off;
    *csum_offset = field_off;
    return L4_CSUM_PARTIAL;
  }
  return L4_CSUM_BAD;
}

int offload_gso_hdr(uint8_t *frame, size_t len, size_t mtu, uint16_t udp_gso_size, vnet_hdr *h) {
  size_t l3off, l4off, thlen;
  int v6, udp = len >= 14 + 20 && ((rd16(frame + 12) == 0x0800 && frame[23] == 17) || (rd16(frame + 12) == 0x86dd && frame[20] == 17));
  if (len < 14 || l4_layout(frame, len, udp ? 17 : 6, &l3off, &l4off, &thlen, &v6) < 0) return -1;
  uint8_t *ip = frame + l3off;
  size_t l3len = v6 ? 40 + (size_t)rd16(ip + 4) : rd16(ip + 2);
  if (l3off + l3len != len || (!v6 && (rd16(ip + 6) & 0x3fff) != 0)) return -1;
  size_t headers = (l4off - l3off) + thlen;
  if (udp ? udp_gso_size == 0 : mtu <= headers + 8) return -1;
  size_t l4len = len - l4off;
  if (udp) wr16(frame + l4off + 4, (uint16_t)l4len);
  uint32_t pseudo = csum_pseudo(v6 ? 6 : 4, v6 ? ip + 8 : ip + 12, v6 ? ip + 24 : ip + 16, udp ? 17 : 6, (uint32_t)l4len);
  wr16(frame + l4off + (udp ? 6 : 16), csum_fold(pseudo));
  memset(h, 0, sizeof *h);
  h->flags = VNET_F_NEEDS_CSUM;
  h->gso_type = udp ? VNET_GSO_UDP_L4 : v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
  h->hdr_len = (uint16_t)(l4off + thlen);
  h->gso_size = udp ? udp_gso_size : (uint16_t)(mtu - headers);
  h->csum_start = (uint16_t)l4off;
  h->csum_offset = udp ? 6 : 16;
  return 0;
}

int offload_spans(const uint8_t *frame, size_t len) {
  if (len < 14 + 20) return 0;
  uint16_t type = rd16(frame + 12);
  const uint8_t *ip = frame + 14;
  if (type == 0x0800) return ip[0] >> 4 == 4 && 14 + (size_t)rd16(ip + 2) == len;
  return type == 0x86dd && len >= 14 + 40 && ip[0] >> 4 == 6 && 14 + 40 + (size_t)rd16(ip + 4) == len;
}

/*
 * A coalescable segment: untagged TCP (or, with `udp`, UDP) over IP, no IP
 * options or fragmenting, no padding, with payload; TCP with only ACK(|PSH).
 */
static int gro_layout(const uint8_t *frame, size_t len, int udp, int *v6, uint8_t *proto, size_t *l4off, size_t *thlen,
                      size_t *payload) {
  if (len < 14 + 20 + 8) return 0;
  uint16_t type = rd16(frame + 12);
  const uint8_t *ip = frame + 14;
  if (type == 0x0800) {
    if (ip[0] != 0x45 || (rd16(ip + 6) & 0x3fff) != 0 || rd16(ip + 2) != len - 14) return 0;
    if (csum_finish(csum_add(0, ip, 20)) != 0) return 0; /* a bad header checksum stays for the kernel to drop */
    *proto = ip[9];
    *v6 = 0;
    *l4off = 34;
  } else if (type == 0x86dd) {
    if (len < 14 + 40 + 8 || ip[0] >> 4 != 6 || (size_t)rd16(ip + 4) + 40 != len - 14) return 0;
    *proto = ip[6];
    *v6 = 1;
    *l4off = 54;
  } else {
    return 0;
  }
  const uint8_t *th = frame + *l4off;
  if (*proto == 17 && udp) {
    *thlen = 8;
    if (rd16(th + 4) != len - *l4off || len <= *l4off + 8) return 0;
  } else if (*proto == 6) {
    if (len < *l4off + 20) return 0;
    *thlen = (size_t)(th[12] >> 4) * 4;
    if (*thlen < 20 || len <= *l4off + *thlen) return 0;
    if ((th[13] & ~TCP_PSH) != TCP_ACK) return 0;
  } else {
    return 0;
  }
  *payload = len - *l4off - *thlen;
  return 1;
}

int gro_start(gro_run *run, void *owner, const uint8_t *frame, size_t len, int csum) {
  int v6;
  uint8_t proto;
  size_t l4off, thlen, payload;
  if (csum != L4_CSUM_VALID && csum != L4_CSUM_PARTIAL) return 0;
  if (!gro_layout(frame, len, run->udp, &v6, &proto, &l4off, &thlen, &payload)) return 0;
  memcpy(run->buf + sizeof(vnet_hdr), frame, l4off + thlen);
  run->iov[0].iov_base = run->buf;
  run->iov[0].iov_len = sizeof(vnet_hdr) + l4off + thlen;
  run->iov[1].iov_base = (void *)(frame + l4off + thlen);
  run->iov[1].iov_len = payload;
  run->iovcnt = 2;
  run->len = len;
  run->owner = owner;
  run->l3off = 14;
  run->l4off = l4off;
  run->hdr_len = l4off + thlen;
  run->ipv6 = v6;
  run->proto = proto;
  run->segs = 1;
  run->mss = (uint16_t)payload;
  run->partial = csum == L4_CSUM_PARTIAL;
  run->next_id = (uint16_t)(rd16(frame + 18) + 1);
  run->closed = proto == 6 && (frame[l4off + 13] & TCP_PSH) != 0;
  if (proto == 6) run->next_seq = rd32(frame + l4off + 4) + (uint32_t)payload;
  return 1;
}

/* Whether the IP header `ip` matches the run's head `hip` in all that a segment must share. */
static int same_ip(const gro_run *run, const uint8_t *ip, const uint8_t *hip) {
  if (!run->ipv6) /* TOS, DF, TTL, protocol, addresses */
    return ip[1] == hip[1] && ip[6] == hip[6] && ip[8] == hip[8] && ip[9] == hip[9] && memcmp(ip + 12, hip + 12, 8) == 0;
  return memcmp(ip, hip, 4) == 0 && ip[6] == hip[6] && ip[7] == hip[7] && memcmp(ip + 8, hip + 8, 32) == 0;
}

/*
 * Whether TCP segment `th` continues the run: ports, ack, data offset,
 * window, urgent pointer, options identical, flags differing only in PSH,
 * next sequence.
 */
static int tcp_continues(const gro_run *run, const uint8_t *th, const uint8_t *hth, size_t thlen) {
  if (memcmp(th, hth, 4) != 0 || memcmp(th + 8, hth + 8, 5) != 0 || memcmp(th + 14, hth + 14, 2) != 0) return 0;
  if (memcmp(th + 18, hth + 18, 2) != 0) return 0;
  if (memcmp(th + 20, hth + 20, thlen - 20) != 0) return 0;
  return rd32(th + 4) == run->next_seq;
}

int gro_append(gro_run *run, void *owner, const uint8_t *frame, size_t len, int csum) {
  int v6;
  uint8_t proto;
  size_t l4off, thlen, payload;
  if (csum != L4_CSUM_VALID && csum != L4_CSUM_PARTIAL) return 0;
  if (run->segs == 0 || run->closed || owner != run->owner || run->segs >= OFFLOAD_MAX_SEGMENTS) return 0;
  if (!gro_layout(frame, len, run->udp, &v6, &proto, &l4off, &thlen, &payload)) return 0;
  const uint8_t *head = run->buf + sizeof(vnet_hdr);
  if (v6 != run->ipv6 || proto != run->proto || l4off + thlen != run->hdr_len || payload > run->mss) return 0;
  if (run->len + payload - run->l3off > 65535) return 0;
  const uint8_t *th = frame + l4off, *hth = head + l4off;
  if (memcmp(frame, head, 14) != 0 || !same_ip(run, frame + 14, head + 14)) return 0;
  /* Over IPv4 the next IP ID: the kernel's segmentation numbers the segments from the head's. */
  if (!v6 && rd16(frame + 18) != run->next_id) return 0;
  if (proto == 17 ? memcmp(th, hth, 4) != 0 : !tcp_continues(run, th, hth, thlen)) return 0;
  run->next_id++;
  run->iov[run->iovcnt].iov_base = (void *)(frame + l4off + thlen);
  run->iov[run->iovcnt].iov_len = payload;
  run->iovcnt++;
  run->len += payload;
  run->segs++;
  if (proto == 17) {
    run->closed = payload < run->mss;
    return 1;
  }
  run->next_seq += (uint32_t)payload;
  if (payload < run->mss || (th[13] & TCP_PSH)) {
    run->closed = 1;
    run->buf[sizeof(vnet_hdr) + l4off + 13] |= th[13] & TCP_PSH;
  }
  return 1;
}

int gro_finish(gro_run *run) {
  vnet_hdr h;
  memset(&h, 0, sizeof h);
  uint8_t *frame = run->buf + sizeof(vnet_hdr);
  int udp = run->proto == 17;
  uint16_t field = udp ? 6 : 16; /* where the L4 checksum goes */
  if (run->segs > 1) {
    uint8_t *ip = frame + run->l3off, *th = frame + run->l4off;
    size_t l4len = run->len - run->l4off;
    uint32_t pseudo;
    if (!run->ipv6) {
      wr16(ip + 2, (uint16_t)(run->len - run->l3off));
      wr16(ip + 10, 0);
      wr16(ip + 10, csum_finish(csum_add(0, ip, 20)));
      pseudo = csum_pseudo(4, ip + 12, ip + 16, run->proto, (uint32_t)l4len);
    } else {
      wr16(ip + 4, (uint16_t)(run->len - run->l3off - 40));
      pseudo = csum_pseudo(6, ip + 8, ip + 24, run->proto, (uint32_t)l4len);
    }
    if (udp) wr16(th + 4, (uint16_t)l4len); /* the kernel swaps it for each datagram's own, in the checksum too */
    /* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, the kernel does the rest. */
    wr16(th + field, csum_fold(pseudo));
    h.flags = VNET_F_NEEDS_CSUM;
    h.gso_type = udp ? VNET_GSO_UDP_L4 : run->ipv6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
    h.hdr_len = (uint16_t)run->hdr_len;
    h.gso_size = run->mss;
    h.csum_start = (uint16_t)run->l4off;
    h.csum_offset = field;
  } else if (run->partial) {
    h.flags = VNET_F_NEEDS_CSUM;
    h.csum_start = (uint16_t)run->l4off;
    h.csum_offset = field;
  }
  memcpy(run->buf, &h, sizeof h);
  int n = run->iovcnt;
  run->segs = 0;
  run->len = 0;
  run->iovcnt = 0;
  return n;
}

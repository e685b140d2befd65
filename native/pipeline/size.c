/* Egress stage "size"; see size.h. */
#include "pipeline/size.h"

#include <string.h>

#include "base/csum.h"

#define ICMP4_QUOTE 548  /* 576 − 28 */
#define ICMP6_QUOTE 1232 /* 1280 − 48 */

/* The frame's Ethernet header with source and destination swapped, same tags; returns the L3 offset. */
static size_t swapped_ethernet(uint8_t *out, const uint8_t *frame, const dp_l2 *l2, uint16_t ethertype) {
  memcpy(out, frame + 6, 6);
  memcpy(out + 6, frame, 6);
  memcpy(out + 12, frame + 12, l2->l3off - 14);
  wr16(out + l2->l3off - 2, ethertype);
  return l2->l3off;
}

/* The IPv4 options in [p, end) whose copy bit is set, zero-padded to a multiple of 4; returns their length. */
static size_t copied_options(const uint8_t *p, const uint8_t *end, uint8_t out[40]) {
  size_t n = 0;
  while (p < end) {
    uint8_t type = p[0];
    if (type == 0) break; /* end of option list */
    if (type == 1) {      /* NOP: not copied */
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    uint8_t len = p[1];
    if (len < 2 || p + len > end) break;
    if (type & 0x80) {
      memcpy(out + n, p, len);
      n += len;
    }
    p += len;
  }
  size_t padded = (n + 3) & ~(size_t)3;
  memset(out + n, 0, padded - n);
  return padded;
}

static size_t icmp_frag_needed(const uint8_t *frame, const dp_l2 *l2, size_t total, size_t l3max, uint8_t *r) {
  const uint8_t *ip = frame + l2->l3off;
  size_t quote = total < ICMP4_QUOTE ? total : ICMP4_QUOTE;
  uint8_t *h = r + swapped_ethernet(r, frame, l2, DP_ETH_IPV4);
  h[0] = 0x45;
  h[1] = 0xc0;
  wr16(h + 2, (uint16_t)(20 + 8 + quote));
  memset(h + 4, 0, 4); /* ID 0, flags/fragment 0 */
  h[8] = 64;
  h[9] = 1;
  wr16(h + 10, 0);
  memcpy(h + 12, ip + 16, 4);
  memcpy(h + 16, ip + 12, 4);
  wr16(h + 10, csum_finish(csum_add(0, h, 20)));
  uint8_t *icmp = h + 20;
  icmp[0] = 3;
  icmp[1] = 4;
  wr16(icmp + 2, 0);
  wr16(icmp + 4, 0);
  wr16(icmp + 6, (uint16_t)(l3max & 0xffff));
  memcpy(icmp + 8, ip, quote);
  wr16(icmp + 2, csum_finish(csum_add(0, icmp, 8 + quote)));
  return (size_t)(icmp + 8 + quote - r);
}

static size_t icmp6_too_big(const uint8_t *frame, const dp_l2 *l2, size_t length, size_t l3max, uint8_t *r) {
  const uint8_t *ip = frame + l2->l3off;
  size_t quote = length < ICMP6_QUOTE ? length : ICMP6_QUOTE;
  uint8_t *h = r + swapped_ethernet(r, frame, l2, DP_ETH_IPV6);
  wr32(h, 0x60000000u);
  wr16(h + 4, (uint16_t)(8 + quote));
  h[6] = 58;
  h[7] = 64;
  memcpy(h + 8, ip + 24, 16);
  memcpy(h + 24, ip + 8, 16);
  uint8_t *icmp = h + 40;
  icmp[0] = 2;
  icmp[1] = 0;
  wr16(icmp + 2, 0);
  wr32(icmp + 4, (uint32_t)l3max);
  memcpy(icmp + 8, ip, quote);
  uint32_t sum = csum_pseudo(6, h + 8, h + 24, 58, (uint32_t)(8 + quote));
  wr16(icmp + 2, csum_finish(csum_add(sum, icmp, 8 + quote)));
  return (size_t)(icmp + 8 + quote - r);
}

static int size_ipv4(const uint8_t *frame, size_t len, const dp_l2 *l2, size_t l3max, dp_fragmenter *f,
                     uint8_t *reply, size_t *reply_len) {
  size_t l3off = l2->l3off;
  const uint8_t *ip = frame + l3off;
  if (len < l3off + 20) return DP_DROP_MALFORMED;
  size_t ihl = ip[0] & 0x0f, hlen = ihl * 4, total = rd16(ip + 2);
  if (ip[0] >> 4 != 4 || ihl < 5 || total < hlen || l3off + total > len) return DP_DROP_MALFORMED;
  uint16_t flags_offset = rd16(ip + 6);
  uint16_t frag_offset = flags_offset & 0x1fff;

  if (flags_offset & 0x4000) {
    int icmp_type = total > hlen ? ip[hlen] : -1;
    /* No ICMP error about a non-first fragment, ICMP other than echo (RFC 1812 4.3.2.7), or a group frame (RFC 1122 3.2.2). */
    int quiet = frag_offset != 0 || (ip[9] == 1 && icmp_type != 0 && icmp_type != 8) || (frame[0] & 1);
    if (!quiet) *reply_len = icmp_frag_needed(frame, l2, total, l3max, reply);
    return DP_DROP_TOO_BIG;
  }
  /* Later pieces carry a subset of the first one's options, so the first piece decides whether any fits. */
  if (l3max < hlen || (l3max - hlen) / 8 * 8 < 8) return DP_DROP_TOO_BIG;
  f->frame = frame;
  f->l3off = l3off;
  f->hlen = hlen;
  f->later_len = copied_options(ip + 20, ip + hlen, f->later_options);
  f->l3max = l3max;
  f->data_len = total - hlen;
  f->done = 0;
  f->frag_offset = frag_offset;
  f->last_mf = flags_offset & 0x2000;
  f->kept_flags = flags_offset & 0x8000; /* DF is clear here */
  f->first = 1;
  f->active = 1;
  return DP_PASS;
}

int dp_size(const dp_network *net, const uint8_t *frame, size_t len, const dp_l2 *l2, dp_fragmenter *f,
            uint8_t reply[DP_REPLY_MAX], size_t *reply_len) {
  size_t max_frame = (size_t)net->mtu + 14;
  f->active = 0;
  *reply_len = 0;
  if (len <= max_frame) return DP_PASS;
  size_t l3max = max_frame - l2->l3off;
  if (l2->ethertype == DP_ETH_IPV4) return size_ipv4(frame, len, l2, l3max, f, reply, reply_len);
  if (l2->ethertype != DP_ETH_IPV6) return DP_DROP_TOO_BIG;
  const uint8_t *ip = frame + l2->l3off;
  if (len < l2->l3off + 40 || ip[0] >> 4 != 6) return DP_DROP_MALFORMED;
  size_t length = 40 + (size_t)rd16(ip + 4);
  if (l2->l3off + length > len) return DP_DROP_MALFORMED;
  int is_icmp_error = ip[6] == 58 && length > 40 && ip[40] < 128;
  if (!is_icmp_error && !(frame[0] & 1)) *reply_len /* never about a group frame (RFC 1122 3.2.2) */ = icmp6_too_big(frame, l2, length, l3max, reply);
  return DP_DROP_TOO_BIG;
}

/* Header and data lengths of the next piece. */
static size_t next_header(const dp_fragmenter *f) { return f->first ? f->hlen : 20 + f->later_len; }

static size_t next_chunk(const dp_fragmenter *f, size_t header_len) {
  size_t room = (f->l3max - header_len) / 8 * 8;
  size_t left = f->data_len - f->done;
  return left < room ? left : room;
}

size_t dp_fragment_len(const dp_fragmenter *f) {
  if (!f->active) return 0;
  size_t header_len = next_header(f);
  return f->l3off + header_len + next_chunk(f, header_len);
}

void dp_fragment_take(dp_fragmenter *f, uint8_t *piece) {
  const uint8_t *ip = f->frame + f->l3off;
  size_t header_len = next_header(f);
  size_t chunk = next_chunk(f, header_len);
  int last = f->done + chunk == f->data_len;
  uint8_t *pip = piece + f->l3off;
  memcpy(piece, f->frame, f->l3off + 20);
  if (f->first) memcpy(pip + 20, ip + 20, f->hlen - 20);
  else memcpy(pip + 20, f->later_options, f->later_len);
  memcpy(pip + header_len, ip + f->hlen + f->done, chunk);
  pip[0] = (uint8_t)(0x40 | (header_len >> 2));
  wr16(pip + 2, (uint16_t)(header_len + chunk));
  wr16(pip + 6, (uint16_t)(f->kept_flags | (last ? f->last_mf : 0x2000) | (f->frag_offset + f->done / 8)));
  wr16(pip + 10, 0);
  wr16(pip + 10, csum_finish(csum_add(0, pip, header_len)));
  f->done += chunk;
  f->first = 0;
  f->active = !last;
}

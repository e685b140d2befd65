/*
 * Step 7 of egress (docs/datapath.md): a frame larger than maxFrame is
 * answered with ICMP "fragmentation needed" / ICMPv6 "packet too big", or,
 * IPv4 without DF, cut into fragments that each go on to encapsulation.
 */
#include <string.h>

#include "base/csum.h"
#include "pipeline/dp_internal.h"

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

static void icmp_frag_needed(const uint8_t *frame, const dp_l2 *l2, size_t total, size_t l3max, uint64_t *counters,
                             const dp_egress_sink *sink) {
  uint8_t r[DP_REPLY_MAX];
  const uint8_t *ip = frame + l2->l3off;
  size_t quote = total < ICMP4_QUOTE ? total : ICMP4_QUOTE;
  uint8_t *h = r + swapped_ethernet(r, frame, l2, 0x0800);
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
  counters[DP_C_ICMP_ERRORS]++;
  sink->reply(sink->ctx, r, (size_t)(icmp + 8 + quote - r));
}

int dp_oversize_ipv4(const dp_network *net, const dp_addr *vtep, uint32_t hash, const uint8_t *frame, size_t len,
                     const dp_l2 *l2, size_t l3max, uint64_t *counters, const dp_egress_sink *sink) {
  size_t l3off = l2->l3off;
  const uint8_t *ip = frame + l3off;
  if (len < l3off + 20) return DP_DROP_MALFORMED;
  size_t ihl = ip[0] & 0x0f, hlen = ihl * 4, total = rd16(ip + 2);
  if (ip[0] >> 4 != 4 || ihl < 5 || total < hlen || l3off + total > len) return DP_DROP_MALFORMED;
  uint16_t flags_offset = rd16(ip + 6);
  uint16_t frag_offset = flags_offset & 0x1fff;

  if (flags_offset & 0x4000) {
    int icmp_type = total > hlen ? ip[hlen] : -1;
    int quiet = frag_offset != 0 || (ip[9] == 1 && icmp_type != 0 && icmp_type != 8);
    if (!quiet) icmp_frag_needed(frame, l2, total, l3max, counters, sink);
    return DP_DROP_TOO_BIG;
  }

  /* Fragment: the first piece keeps the whole header, later ones only the copied options. */
  uint8_t later_options[40];
  size_t later_len = copied_options(ip + 20, ip + hlen, later_options);
  size_t data_len = total - hlen;
  uint16_t last_mf = flags_offset & 0x2000;
  uint16_t kept_flags = flags_offset & 0x8000; /* the reserved bit travels; DF is clear here */
  size_t done = 0;
  for (int first = 1;; first = 0) {
    size_t header_len = first ? hlen : 20 + later_len;
    long room = ((long)l3max - (long)header_len) / 8 * 8;
    if ((long)l3max < (long)header_len || room < 8) return DP_DROP_TOO_BIG;
    size_t chunk = data_len - done < (size_t)room ? data_len - done : (size_t)room;
    int last = done + chunk == data_len;
    size_t piece_len = l3off + header_len + chunk;
    uint8_t *payload = sink->buffer(sink->ctx, DP_VXLAN_HLEN + piece_len);
    uint8_t *piece = payload + DP_VXLAN_HLEN, *pip = piece + l3off;
    memcpy(piece, frame, l3off + 20);
    if (first) memcpy(pip + 20, ip + 20, hlen - 20);
    else memcpy(pip + 20, later_options, later_len);
    memcpy(pip + header_len, ip + hlen + done, chunk);
    pip[0] = (uint8_t)(0x40 | (header_len >> 2));
    wr16(pip + 2, (uint16_t)(header_len + chunk));
    wr16(pip + 6, (uint16_t)(kept_flags | (last ? last_mf : 0x2000) | (frag_offset + done / 8)));
    wr16(pip + 10, 0);
    wr16(pip + 10, csum_finish(csum_add(0, pip, header_len)));
    counters[DP_C_FRAGMENTS]++;
    dp_encapsulate(net->vni, payload, DP_VXLAN_HLEN + piece_len, counters);
    sink->send(sink->ctx, vtep, hash, payload, DP_VXLAN_HLEN + piece_len);
    done += chunk;
    if (last) return DP_PASS;
  }
}

int dp_oversize_ipv6(const uint8_t *frame, size_t len, const dp_l2 *l2, size_t l3max, uint64_t *counters,
                     const dp_egress_sink *sink) {
  const uint8_t *ip = frame + l2->l3off;
  if (len < l2->l3off + 40 || ip[0] >> 4 != 6) return DP_DROP_MALFORMED;
  size_t length = 40 + (size_t)rd16(ip + 4);
  if (l2->l3off + length > len) return DP_DROP_MALFORMED;
  int is_icmp_error = ip[6] == 58 && length > 40 && ip[40] < 128;
  if (!is_icmp_error) {
    uint8_t r[DP_REPLY_MAX];
    size_t quote = length < ICMP6_QUOTE ? length : ICMP6_QUOTE;
    uint8_t *h = r + swapped_ethernet(r, frame, l2, 0x86dd);
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
    counters[DP_C_ICMP_ERRORS]++;
    sink->reply(sink->ctx, r, (size_t)(icmp + 8 + quote - r));
  }
  return DP_DROP_TOO_BIG;
}

/*
 * Coalescing and segmentation of native/tap/offload.c checked against each
 * other, as the kernel's contract has it: frames coalesced into one TCP or
 * UDP super-frame (gro_*), written to a TAP and cut by the kernel's GSO (here
 * modelled by gso_segment, which fixes lengths, IDs and checksums the same
 * way), must come out byte for byte as they went in. Also: what must not be
 * coalesced is not, a UDP checksum that sums to zero is sent as all ones,
 * and mutated frames neither crash (built with the sanitizers) nor come out
 * changed. Run by test/native/offload.test.ts; prints "ok", or the first
 * failure and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csum.h"
#include "tap/offload.h"

#define FAIL(...)                 \
  do {                            \
    fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr);          \
    exit(1);                      \
  } while (0)

#define MAXF 70
#define FRAME_CAP 1600
#define OUT_CAP (1u << 20)

static unsigned long long rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

typedef struct spec {
  int v6;
  uint8_t proto; /* 6 or 17 */
  uint16_t id;   /* IPv4 ID */
  uint32_t seq;  /* TCP sequence */
  size_t payload;
  uint8_t ttl;
  uint16_t sport;
} spec;

/* An untagged Ethernet/IP/(UDP|TCP) frame with complete checksums, payload from `data`; returns its length. */
static size_t build(uint8_t *f, const spec *s, const uint8_t *data) {
  static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
  static const uint8_t a4[8] = {198, 18, 0, 1, 198, 18, 0, 2};
  static const uint8_t a6[32] = {0x20, 1, 0xd, 0xb8, [15] = 1, [16] = 0x20, 1, 0xd, 0xb8, [31] = 2};
  int udp = s->proto == 17;
  size_t thlen = udp ? 8 : 20, l4 = s->v6 ? 54 : 34;
  uint8_t *ip = f + 14, *th = f + l4;
  memcpy(f, macs, 12);
  if (!s->v6) {
    wr16(f + 12, 0x0800);
    memset(ip, 0, 20);
    ip[0] = 0x45;
    wr16(ip + 2, (uint16_t)(20 + thlen + s->payload));
    wr16(ip + 4, s->id);
    wr16(ip + 6, 0x4000);
    ip[8] = s->ttl;
    ip[9] = s->proto;
    memcpy(ip + 12, a4, 8);
    wr16(ip + 10, csum_finish(csum_add(0, ip, 20)));
  } else {
    wr16(f + 12, 0x86dd);
    memset(ip, 0, 8);
    ip[0] = 0x60;
    wr16(ip + 4, (uint16_t)(thlen + s->payload));
    ip[6] = s->proto;
    ip[7] = s->ttl;
    memcpy(ip + 8, a6, 32);
  }
  memset(th, 0, thlen);
  wr16(th, s->sport);
  wr16(th + 2, 4000);
  if (udp) {
    wr16(th + 4, (uint16_t)(8 + s->payload));
  } else {
    wr32(th + 4, s->seq);
    wr32(th + 8, 12345);
    th[12] = 5 << 4;
    th[13] = 0x10; /* ACK */
    wr16(th + 14, 500);
  }
  memcpy(th + thlen, data, s->payload);
  uint32_t sum = csum_pseudo(s->v6 ? 6 : 4, s->v6 ? ip + 8 : ip + 12, s->v6 ? ip + 24 : ip + 16, s->proto, (uint32_t)(thlen + s->payload));
  uint16_t c = csum_finish(csum_add(sum, th, thlen + s->payload));
  wr16(th + (udp ? 6 : 16), udp && c == 0 ? 0xffff : c);
  return l4 + thlen + s->payload;
}

typedef struct cut {
  int n;
  uint8_t *seg[MAXF];
  size_t len[MAXF];
} cut;

static void collect(void *ctx, uint8_t *seg, size_t len) {
  cut *c = ctx;
  if (c->n < MAXF) {
    c->seg[c->n] = seg;
    c->len[c->n] = len;
  }
  c->n++;
}

static uint8_t frames[MAXF][FRAME_CAP];
static size_t lens[MAXF];
static uint8_t flat[70000];
static uint8_t *out;

/*
 * Feeds frames[0..n) to one run (with UDP allowed when `udp`); returns how
 * many it took. When every frame taken had a complete checksum (`exact`),
 * what gro_finish writes, cut by gso_segment, must be exactly those frames.
 */
static int run_frames(const char *what, int n, int udp, int exact) {
  static uint8_t buf[GRO_BUF_LEN];
  gro_run run;
  memset(&run, 0, sizeof run);
  run.buf = buf;
  run.udp = udp;
  int taken = 0;
  for (int i = 0; i < n; i++) {
    uint16_t cs, co;
    int csum = offload_l4_csum(frames[i], lens[i], &cs, &co);
    int ok = i == 0 ? gro_start(&run, buf, frames[i], lens[i], csum) : gro_append(&run, buf, frames[i], lens[i], csum);
    if (!ok) break;
    exact &= csum == L4_CSUM_VALID;
    taken++;
  }
  if (taken == 0) return 0;
  int iovcnt = gro_finish(&run);
  size_t total = 0;
  for (int i = 0; i < iovcnt; i++) {
    memcpy(flat + total, run.iov[i].iov_base, run.iov[i].iov_len);
    total += run.iov[i].iov_len;
  }
  vnet_hdr h;
  memcpy(&h, flat, sizeof h);
  uint8_t *frame = flat + sizeof h;
  size_t len = total - sizeof h;
  if (taken == 1) {
    if (h.gso_type != VNET_GSO_NONE) FAIL("%s: a lone frame written as GSO", what);
    if (exact && (len != lens[0] || memcmp(frame, frames[0], len) != 0)) FAIL("%s: a lone frame changed", what);
    return taken;
  }
  int v6 = rd16(frame + 12) == 0x86dd, isudp = frame[v6 ? 20 : 23] == 17;
  size_t l4 = v6 ? 54 : 34;
  uint8_t want = isudp ? VNET_GSO_UDP_L4 : v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
  if (h.gso_type != want || h.flags != VNET_F_NEEDS_CSUM || h.csum_start != l4 || h.csum_offset != (isudp ? 6 : 16))
    FAIL("%s: vnet header type %u flags %u csum %u+%u", what, h.gso_type, h.flags, h.csum_start, h.csum_offset);
  const uint8_t *ip = frame + 14;
  uint32_t pseudo = csum_pseudo(v6 ? 6 : 4, v6 ? ip + 8 : ip + 12, v6 ? ip + 24 : ip + 16, isudp ? 17 : 6, (uint32_t)(len - l4));
  if (rd16(frame + l4 + h.csum_offset) != csum_fold(pseudo)) FAIL("%s: the checksum field is not the pseudo-header sum", what);
  if (isudp && rd16(frame + l4 + 4) != len - l4) FAIL("%s: UDP length %u of %zu", what, rd16(frame + l4 + 4), len - l4);
  cut c = {0};
  if (gso_segment(frame, len, &h, out, OUT_CAP, 16, 16, collect, &c) < 0) FAIL("%s: gso_segment refused the coalesced frame", what);
  if (c.n != taken) FAIL("%s: %d frames coalesced, cut into %d", what, taken, c.n);
  for (int i = 0; exact && i < taken; i++)
    if (c.len[i] != lens[i] || memcmp(c.seg[i], frames[i], lens[i]) != 0) FAIL("%s: frame %d came back changed", what, i);
  return taken;
}

/* frames[0..n) of one flow: payload `size` each, the last `last` bytes; consecutive IDs and sequence numbers. */
static void flow(int n, int v6, uint8_t proto, size_t size, size_t last) {
  spec s = {v6, proto, (uint16_t)rnd(), rnd(), size, 64, 5000};
  uint8_t data[FRAME_CAP];
  for (int i = 0; i < n; i++) {
    s.payload = i == n - 1 ? last : size;
    for (size_t k = 0; k < s.payload; k++) data[k] = (uint8_t)rnd();
    lens[i] = build(frames[i], &s, data);
    s.id++;
    s.seq += (uint32_t)s.payload;
  }
}

static void expect_taken(const char *what, int n, int udp, int want) {
  int got = run_frames(what, n, udp, 1);
  if (got != want) FAIL("%s: %d of %d frames coalesced, want %d", what, got, n, want);
}

/* Rebuilds frame i (as `build` made it) with one field changed by `edit`, checksums made good again. */
static void rebuild(int i, void (*edit)(spec *)) {
  const uint8_t *f = frames[i];
  int v6 = rd16(f + 12) == 0x86dd;
  uint8_t proto = f[v6 ? 20 : 23];
  size_t l4 = v6 ? 54 : 34, thlen = proto == 17 ? 8 : 20;
  spec s = {v6, proto, v6 ? 0 : rd16(f + 18), proto == 6 ? rd32(f + l4 + 4) : 0, lens[i] - l4 - thlen, f[v6 ? 21 : 22], rd16(f + l4)};
  uint8_t data[FRAME_CAP];
  memcpy(data, f + l4 + thlen, s.payload);
  edit(&s);
  lens[i] = build(frames[i], &s, data);
}
static void next_id_skipped(spec *s) { s->id++; }
static void other_port(spec *s) { s->sport++; }
static void other_ttl(spec *s) { s->ttl--; }
static void shorter(spec *s) { s->payload /= 2; }

static void coalescing(void) {
  for (int v6 = 0; v6 < 2; v6++) {
    for (int proto = 6; proto <= 17; proto += 11) {
      static const size_t sizes[] = {1, 7, 64, 500, 1200, 1422};
      for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t size = sizes[k];
        size_t fit = (65535 - (v6 ? 40 : 20) - (proto == 17 ? 8 : 20)) / size;
        int n = fit < 64 ? (int)fit : 64;
        flow(n, v6, (uint8_t)proto, size, size);
        expect_taken("a full run", n, 1, n);
        if (size > 1) {
          flow(n, v6, (uint8_t)proto, size, size / 2);
          expect_taken("a run ending short", n, 1, n);
        }
      }
    }
    flow(70, v6, 17, 100, 100);
    expect_taken("at most OFFLOAD_MAX_SEGMENTS", 70, 1, OFFLOAD_MAX_SEGMENTS);
    flow(50, v6, 17, 1400, 1400);
    expect_taken("at most 64 KB", 50, 1, (65535 - (v6 ? 40 : 20) - 8) / 1400);
    flow(4, v6, 17, 600, 600);
    expect_taken("UDP when the TAP takes no UDP GSO", 4, 0, 0);
    flow(4, v6, 17, 600, 600);
    rebuild(2, shorter);
    expect_taken("after a short datagram", 4, 1, 3);
  }
  for (int proto = 6; proto <= 17; proto += 11) {
    flow(4, 0, (uint8_t)proto, 600, 600);
    rebuild(2, next_id_skipped);
    expect_taken("an IPv4 ID gap", 4, 1, 2);
  }
  flow(4, 0, 17, 600, 600);
  rebuild(1, other_port);
  expect_taken("another source port", 4, 1, 1);
  flow(4, 1, 17, 600, 600);
  rebuild(3, other_ttl);
  expect_taken("another hop limit", 4, 1, 3);
  flow(4, 0, 17, 600, 601);
  expect_taken("a larger last datagram", 4, 1, 3);
  flow(3, 0, 17, 600, 600);
  frames[0][24] ^= 1; /* IPv4 header checksum */
  expect_taken("a bad IPv4 header checksum", 3, 1, 0);
  flow(3, 0, 17, 600, 600);
  frames[1][60] ^= 1; /* payload: the UDP checksum no longer matches */
  expect_taken("a bad UDP checksum", 3, 1, 1);
}

/* A UDP datagram whose checksum sums to zero carries 0xffff, coalesced or cut. */
static void zero_checksum(void) {
  flow(3, 0, 17, 200, 200);
  uint8_t *f = frames[1], *ip = f + 14, *th = f + 34;
  wr16(th + 6, 0);
  wr16(th + 8 + 198, 0);
  uint32_t sum = csum_add(csum_pseudo(4, ip + 12, ip + 16, 17, 208), th, 208);
  wr16(th + 8 + 198, (uint16_t)(0xffff - csum_fold(sum)));
  if (csum_finish(csum_add(csum_pseudo(4, ip + 12, ip + 16, 17, 208), th, 208)) != 0) FAIL("zero checksum: not crafted");
  wr16(th + 6, 0xffff);
  expect_taken("a datagram whose checksum is zero", 3, 1, 3);
}

/* Mutated frames: no crash, and whatever is taken with a complete checksum comes back unchanged. */
static void mutations(int rounds) {
  for (int r = 0; r < rounds; r++) {
    int n = 2 + (int)(rnd() % 6);
    size_t size = 1 + rnd() % 1400;
    flow(n, (int)(rnd() & 1), rnd() & 1 ? 17 : 6, size, 1 + rnd() % size);
    int victim = (int)(rnd() % (uint32_t)n);
    for (int k = 1 + (int)(rnd() % 4); k > 0; k--) frames[victim][rnd() % lens[victim]] ^= (uint8_t)(1u << (rnd() % 8));
    if (rnd() % 4 == 0) lens[victim] = rnd() % (lens[victim] + 1);
    run_frames("mutated", n, 1, 1);
    /* As a whole super-frame of a kernel sender: prepared for the TAP, its header must cut it into good segments. */
    vnet_hdr whole;
    if (offload_spans(frames[victim], lens[victim]) && offload_gso_hdr(frames[victim], lens[victim], 1450, (uint16_t)(1 + rnd() % 1400), &whole) == 0) {
      cut wc = {0};
      if (gso_segment(frames[victim], lens[victim], &whole, out, OUT_CAP, 0, 0, collect, &wc) < 0) FAIL("mutated: a prepared super-frame does not cut");
    }
    /* And a mutated frame with an arbitrary GSO header, as if read from a TAP. */
    vnet_hdr h = {0, (uint8_t)(rnd() % 6), 0, (uint16_t)(rnd() % 1500), 0, 0};
    cut c = {0};
    if (gso_segment(frames[victim], lens[victim], &h, out, OUT_CAP, 16, 16, collect, &c) >= 0)
      for (int i = 0; i < c.n && i < MAXF; i++) {
        uint16_t cs, co;
        int v = offload_l4_csum(c.seg[i], c.len[i], &cs, &co);
        if (rd16(c.seg[i] + 12) != 0x8100 && rd16(c.seg[i] + 12) != 0x88a8 && v != L4_CSUM_VALID && v != L4_CSUM_NONE)
          FAIL("mutated: a cut segment's checksum is not complete (%d)", v);
      }
  }
}

int main(void) {
  out = malloc(OUT_CAP);
  if (out == NULL) FAIL("no memory");
  coalescing();
  zero_checksum();
  mutations(20000);
  free(out);
  puts("ok");
  return 0;
}

/*
 * The per-frame cost of the native pipeline (native/pipeline/), without I/O:
 * one network (VNI 4096, MTU 1450), one remote endpoint, and a frame of each
 * case given to dp_egress / dp_ingress `n` times by pipeline_cost_loop().
 * Two multicast networks with three VTEPs each carry the broadcast cases:
 * VNI 4097 without a rate limit, VNI 4098 with one it never reaches (the
 * storm control's clock read and compare-and-swap, always passing).
 * Built by bench/pipeline-cost.ts with the addon's compiler flags; run under
 * callgrind it gives instructions per frame, the same on every run.
 *
 * The encrypted half is left out: sealing and opening are esp/esp.c's AES-GCM
 * (bench/esp-native.ts measures it), so the SA functions are stubs that the
 * plain cases never reach.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "esp/sa_table.h"
#include "pipeline/pipeline.h"
#include "tables/tables.h"

#define EXPORT __attribute__((visibility("default")))

dp_sa_out *net_sa_out(const dp_network *net, const dp_addr *peer) { return NULL; }
long sa_out_seal(dp_sa_out *o, int slot, const uint8_t *p, size_t l, uint8_t nh, uint8_t *out, size_t cap) { abort(); }
dp_sa_in *tables_sa_in(const dp_tables *t, const dp_addr *peer, uint32_t spi) { return NULL; }
uint32_t sa_in_vni(const dp_sa_in *i) { abort(); }
long sa_in_open(dp_sa_in *i, int slot, const uint8_t *packet, size_t len, uint8_t *out, uint8_t *nh) { abort(); }
size_t esp_sealed_len(size_t len) { abort(); }
uint64_t sa_out_peek(const dp_sa_out *o, uint32_t *spi) { abort(); }
uint64_t sa_in_top(const dp_sa_in *i) { abort(); }

static const uint8_t LOCAL[6] = {0x02, 0x42, 0xc6, 0x13, 1, 2}, REMOTE[6] = {0x02, 0x42, 0xc6, 0x13, 1, 3};
static const uint8_t LOCAL_IP[4] = {198, 19, 1, 2}, REMOTE_IP[4] = {198, 19, 1, 3};
static const uint8_t BROADCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint8_t arena[1 << 16];
static uint64_t sent;
static uint8_t *sink_buffer(void *ctx, size_t len) { return arena; }
static void sink_send(void *ctx, const dp_addr *v, uint32_t h, uint8_t *p, size_t len) { sent += len; }
static void sink_reply(void *ctx, const uint8_t *f, size_t len) { sent += len; }

/* An IPv4 TCP frame of `len` bytes from the local to the remote endpoint. */
static void tcp_frame(uint8_t *f, size_t len, int df) {
  memset(f, 0, len);
  memcpy(f, REMOTE, 6);
  memcpy(f + 6, LOCAL, 6);
  f[12] = 0x08;
  uint8_t *ip = f + 14;
  ip[0] = 0x45;
  ip[2] = (uint8_t)((len - 14) >> 8);
  ip[3] = (uint8_t)(len - 14);
  ip[6] = df ? 0x40 : 0;
  ip[8] = 64;
  ip[9] = 6;
  memcpy(ip + 12, LOCAL_IP, 4);
  memcpy(ip + 16, REMOTE_IP, 4);
  ip[20] = 0x9c, ip[21] = 0x40, ip[22] = 0x13, ip[23] = 0x89;
}

/* An ARP request for the remote endpoint's address. */
static size_t arp_request(uint8_t *f) {
  memset(f, 0xff, 6);
  memcpy(f + 6, LOCAL, 6);
  f[12] = 0x08, f[13] = 0x06;
  uint8_t *a = f + 14;
  memset(a, 0, 28);
  a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4, a[7] = 1;
  memcpy(a + 8, LOCAL, 6);
  memcpy(a + 14, LOCAL_IP, 4);
  memcpy(a + 24, REMOTE_IP, 4);
  return 42;
}

static dp_tables tables;
static dp_addr vtep;
static uint64_t counters[DP_COUNTER_SLOTS];
static uint8_t frame[DP_HEADROOM + 4096 + DP_TAILROOM];

/** Prepares the tables; 0, or -1 for an unknown case. */
EXPORT int pipeline_cost_setup(void) {
  tables_init(&tables);
  addr_parse("198.18.0.2", &vtep);
  dp_addr ip;
  addr_parse("198.19.1.3", &ip);
  tables_network_set(&tables, 4096, 1450, NULL, 0, NULL, NULL);
  tables_fdb_set(&tables, 4096, REMOTE, &vtep);
  tables_neigh_set(&tables, 4096, &ip, REMOTE);
  static const char *const three[] = {"198.18.0.2", "198.18.0.3", "198.18.0.4"};
  for (uint32_t vni = 4097; vni <= 4098; vni++) {
    dp_multicast mc = {vni == 4097 ? 0 : 1000000000u};
    tables_network_set(&tables, vni, 1450, NULL, 0, NULL, &mc);
    for (int i = 0; i < 3; i++) {
      uint8_t mac[6] = {0x02, 0x42, 0xc6, 0x13, 2, (uint8_t)i};
      dp_addr v;
      addr_parse(three[i], &v);
      tables_fdb_set(&tables, vni, mac, &v);
    }
  }
  return 0;
}

/** Runs `n` frames of case `what` through the pipeline; returns the frames that passed, or -1 for an unknown case. */
EXPORT __attribute__((noinline)) long pipeline_cost_loop(const char *what, long n) {
  dp_egress_sink sink = {NULL, sink_buffer, sink_send, sink_reply, NULL, 0, 4789, NULL, NULL};
  uint8_t *f = frame + DP_HEADROOM;
  long passed = 0;
  tables_read_lock(&tables, DP_READER_SYNC);
  dp_network *net = tables_network(&tables, 4096);
  if (strncmp(what, "broadcast", 9) == 0) net = tables_network(&tables, strcmp(what, "broadcast3") == 0 ? 4097 : 4098);
  if (strcmp(what, "ingress") == 0) {
    tcp_frame(frame + DP_VXLAN_HLEN, 1464, 1);
    memcpy(frame + DP_VXLAN_HLEN, LOCAL, 6);
    memcpy(frame + DP_VXLAN_HLEN + 6, REMOTE, 6); /* from the remote endpoint, behind its VTEP */
    memset(frame, 0, DP_VXLAN_HLEN);
    frame[0] = 0x08, frame[5] = 0x10; /* VNI 4096 */
    for (long i = 0; i < n; i++) {
      dp_delivery d;
      passed += dp_ingress(&tables, &vtep, frame, DP_VXLAN_HLEN + 1464, 0, counters, &d, NULL) == DP_PASS;
    }
  } else {
    size_t len;
    if (strcmp(what, "egress") == 0) tcp_frame(f, len = 1464, 1);
    else if (strcmp(what, "fragments") == 0) tcp_frame(f, len = 4000, 0);
    else if (strcmp(what, "too-big") == 0) tcp_frame(f, len = 4000, 1);
    else if (strcmp(what, "arp") == 0) len = arp_request(f);
    else if (strncmp(what, "broadcast3", 10) == 0) tcp_frame(f, len = 1464, 1), memcpy(f, BROADCAST, 6);
    else passed = -1, n = 0, len = 0;
    for (long i = 0; i < n; i++) passed += dp_egress(net, f, len, counters, &sink) == DP_PASS;
  }
  tables_read_unlock(&tables, DP_READER_SYNC);
  return passed;
}

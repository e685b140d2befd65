/* One native data path, whole; see datapath.h. */
#include "datapath/datapath.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "esp/sa_table.h"
#include "tap/tap.h"

_Static_assert(DP_MAX_WORKERS <= TAP_MAX_QUEUES, "a worker per TAP queue");

/* Most TAP queue descriptors a data path holds at once: 1024 networks × every queue. */
#define MAX_TAPS (1024 * DP_MAX_WORKERS)

int datapath_init(dp_datapath *dp, const io_config *cfg, uint64_t *counters, size_t punt_capacity) {
  memset(dp, 0, sizeof *dp);
  dp->cfg = *cfg;
  dp->counters = counters;
  int rc = tables_init(&dp->tables);
  if (rc < 0) return rc;
  sa_tables_init(&dp->tables);
  dp->tables.data_port = cfg->port;
  dp->drops = drop_sampler_new();
  rc = dp->drops == NULL ? -ENOMEM : punt_init(&dp->punt, punt_capacity);
  if (rc < 0) {
    drop_sampler_free(dp->drops);
    sa_tables_destroy(&dp->tables);
    tables_destroy(&dp->tables);
  }
  return rc;
}

/* The TAP queue descriptors held, with their VNIs and queue numbers. */
typedef struct held_taps {
  int fds[MAX_TAPS];
  uint32_t vnis[MAX_TAPS];
  int queues[MAX_TAPS];
  int n;
} held_taps;

/* The TAP queues held now (freed by the caller), or NULL when out of memory. */
static held_taps *hold_taps(dp_datapath *dp) {
  held_taps *h = malloc(sizeof *h);
  if (h == NULL) return NULL;
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  h->n = tables_tap_fds(&dp->tables, h->fds, h->vnis, h->queues, MAX_TAPS);
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  return h;
}

void datapath_destroy(dp_datapath *dp) {
  datapath_stop(dp);
  held_taps *h = hold_taps(dp);
  for (int i = 0; h != NULL && i < h->n; i++) close(h->fds[i]);
  free(h);
  sa_tables_destroy(&dp->tables);
  tables_destroy(&dp->tables);
  punt_destroy(&dp->punt);
  drop_sampler_free(dp->drops);
}

int datapath_start(dp_datapath *dp, void (*notify)(void *arg), void *arg) {
  if (dp->io != NULL) return -EALREADY;
  dp->punt.notify_arg = arg;
  dp->punt.notify = notify;
  drop_sampler_notify(dp->drops, notify, arg);
  int err = 0;
  dp->io = io_start(&dp->tables, &dp->cfg, dp->counters + DP_COUNTER_SLOTS, &dp->punt, dp->drops, &err);
  if (dp->io == NULL) {
    dp->punt.notify = NULL;
    drop_sampler_notify(dp->drops, NULL, NULL);
    return err;
  }
  held_taps *h = hold_taps(dp);
  if (h == NULL) {
    datapath_stop(dp);
    return -ENOMEM;
  }
  for (int i = 0; i < h->n; i++) io_tap_add(dp->io, h->vnis[i], h->queues[i], h->fds[i]);
  free(h);
  dp->tables.data_port = io_data_port(dp->io);
  return dp->tables.data_port;
}

void datapath_stop(dp_datapath *dp) {
  if (dp->io == NULL) return;
  io_stop(dp->io);
  dp->io = NULL;
  dp->punt.notify = NULL;
  drop_sampler_notify(dp->drops, NULL, NULL);
}

/* The TAP queues network `vni` holds now (into fds[DP_MAX_WORKERS]); returns how many. */
static int queues_of(dp_datapath *dp, uint32_t vni, int *fds) {
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  dp_network *net = tables_network(&dp->tables, vni);
  int n = net != NULL ? net->tap_queues : 0;
  if (n > 0) memcpy(fds, net->tap_fds, (size_t)n * sizeof *fds);
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  return n;
}

static int holds(const int *fds, int n, int fd) {
  for (int i = 0; i < n; i++)
    if (fds[i] == fd) return 1;
  return 0;
}

int datapath_network_set(dp_datapath *dp, uint32_t vni, uint32_t mtu, const int *tap_fds, int queues,
                         const dp_encryption *enc, const dp_multicast *mc) {
  if (queues < 0 || queues > DP_MAX_WORKERS) return -EINVAL;
  int old[DP_MAX_WORKERS];
  int n_old = queues_of(dp, vni, old);
  /* Workers stop reading a replaced queue before the tables forget it. */
  for (int q = 0; q < n_old && dp->io != NULL; q++)
    if (q >= queues || tap_fds[q] != old[q]) io_tap_remove(dp->io, q, old[q]);
  int rc = tables_network_set(&dp->tables, vni, mtu, tap_fds, queues, enc, mc);
  if (rc < 0) return rc;
  for (int q = 0; q < n_old; q++)
    if (!holds(tap_fds, queues, old[q])) close(old[q]);
  for (int q = 0; q < queues && dp->io != NULL && rc == 0; q++)
    if (q >= n_old || tap_fds[q] != old[q]) rc = io_tap_add(dp->io, vni, q, tap_fds[q]);
  return rc;
}

int datapath_network_remove(dp_datapath *dp, uint32_t vni) {
  int fds[DP_MAX_WORKERS];
  int n = queues_of(dp, vni, fds);
  for (int q = 0; q < n && dp->io != NULL; q++) io_tap_remove(dp->io, q, fds[q]);
  tables_sa_network_release(&dp->tables, vni);
  int rc = tables_network_remove(&dp->tables, vni, fds);
  for (int q = 0; q < rc; q++) close(fds[q]);
  return rc < 0 ? rc : 0;
}

int datapath_network_drops(dp_datapath *dp, uint32_t vni, uint64_t *out) {
  memset(out, 0, DP_NET_DROP_SLOTS * sizeof *out);
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  dp_network *net = tables_network(&dp->tables, vni);
  if (net != NULL) net_drops_sum(net, out);
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  return net != NULL ? 0 : -ENOENT;
}

uint32_t datapath_vtep_refs(dp_datapath *dp, uint32_t vni, const dp_addr *vtep) {
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  dp_network *net = tables_network(&dp->tables, vni);
  uint32_t refs = net != NULL ? net_vtep_refs(net, vtep) : 0;
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  return refs;
}

int datapath_egress(dp_datapath *dp, uint32_t vni, uint8_t *frame, size_t len, const dp_egress_sink *sink) {
  dp_egress_sink sync = *sink;
  sync.sa_slot = DP_SA_SLOT_SYNC;
  uint64_t scratch[DP_COUNTER_SLOTS] = {0}; /* a traced frame counts nowhere */
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  sync.data_port = dp->tables.data_port;
  int verdict = dp_egress(tables_network(&dp->tables, vni), frame, len, sink->trace ? scratch : dp->counters, &sync);
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  return verdict;
}

/* Fills `out` from a delivery that is valid under the read lock only. */
static int delivered(int verdict, const dp_delivery *d, datapath_delivery *out) {
  if (verdict == DP_PASS) {
    out->vni = d->net->vni;
    out->frame = d->frame;
    out->len = d->len;
    out->probe = d->probe;
  }
  return verdict;
}

int datapath_ingress(dp_datapath *dp, const dp_addr *src, uint8_t *payload, size_t len, datapath_delivery *out,
                     dp_trace *trace) {
  dp_delivery d;
  uint64_t scratch[DP_COUNTER_SLOTS] = {0}; /* a traced datagram counts nowhere */
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  uint64_t *counters = trace != NULL ? scratch : dp->counters;
  int verdict = delivered(dp_ingress(&dp->tables, src, payload, len, DP_READER_SYNC, counters, &d, trace), &d, out);
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  return verdict;
}

int datapath_esp_trace(dp_datapath *dp, const dp_addr *src, uint32_t spi, uint8_t *payload, size_t len,
                       datapath_delivery *out, dp_trace *trace) {
  dp_delivery d;
  uint64_t scratch[DP_COUNTER_SLOTS] = {0};
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  int verdict = delivered(dp_esp_trace(&dp->tables, src, spi, payload, len, scratch, &d, trace), &d, out);
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  return verdict;
}

int datapath_esp_ingress(dp_datapath *dp, const dp_addr *src, uint8_t *packet, size_t len, datapath_delivery *out) {
  dp_delivery d;
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  int verdict =
      delivered(dp_esp_ingress(&dp->tables, src, packet, len, DP_SA_SLOT_SYNC, dp->counters, &d), &d, out);
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  return verdict;
}

uint16_t datapath_source_port(dp_datapath *dp, uint32_t flow_hash) {
  return dp->io != NULL ? io_source_port(dp->io, flow_hash) : 0;
}

/* The sink of a probe: straight to the socket from the calling thread; a refusal is remembered. */
typedef struct probe_sink {
  io_ctx *io;
  int rc;
} probe_sink;

static void probe_send(void *ctx, const dp_addr *vtep, uint32_t hash, uint8_t *payload, size_t len) {
  probe_sink *p = ctx;
  p->rc = p->io != NULL ? io_send(p->io, vtep, hash, -1, payload, len) : -ENOTCONN;
}

static void probe_esp_send(void *ctx, const dp_addr *vtep, uint32_t hash, int carrier, uint8_t *packet, size_t len) {
  probe_sink *p = ctx;
  p->rc = p->io != NULL ? io_send(p->io, vtep, hash, carrier, packet, len) : -ENOTCONN;
}

int datapath_probe_send(dp_datapath *dp, uint32_t vni, const dp_addr *vtep, const uint8_t *frame, size_t len) {
  uint8_t *work = malloc(DP_HEADROOM + len + DP_TAILROOM);
  if (work == NULL) return dp_drop(dp->counters, DP_DROP_UDP_SEND);
  memcpy(work + DP_HEADROOM, frame, len);
  probe_sink p = {dp->io, 0};
  dp_egress_sink sink = {&p, NULL, probe_send, NULL, probe_esp_send, DP_SA_SLOT_SYNC, 0, NULL, NULL};
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  sink.data_port = dp->tables.data_port;
  int verdict = dp_egress_probe(tables_network(&dp->tables, vni), vtep, work + DP_HEADROOM, len, dp->counters, &sink);
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  free(work);
  if (verdict == DP_PASS && p.rc < 0) return dp_drop(dp->counters, DP_DROP_UDP_SEND);
  return verdict;
}

void datapath_peer_counters(dp_datapath *dp, void (*fn)(const dp_addr *addr, const dp_peer_counts *sum, void *arg),
                            void *arg) {
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  peers_each(&dp->tables.peers, fn, arg);
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
}

int datapath_groups(dp_datapath *dp, uint32_t vni, void (*fn)(const uint8_t *mac, const dp_group *g, void *arg), void *arg) {
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  int rc = net_groups_each(&dp->tables, vni, fn, arg);
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  return rc;
}

int datapath_inject(dp_datapath *dp, uint32_t vni, const uint8_t *frame, size_t len) {
  static const uint8_t vnet[TAP_VNET_HDR_LEN] = {0}; /* no offload: a whole frame, checksums done */
  struct iovec iov[2] = {{(void *)vnet, sizeof vnet}, {(void *)frame, len}};
  tables_read_lock(&dp->tables, DP_READER_SYNC);
  dp_network *net = tables_network(&dp->tables, vni);
  int fd = net != NULL ? net_tap_queue(net, 0) : -1;
  int rc = fd < 0 ? -ENOENT : writev(fd, iov, 2) < 0 ? -errno : 0;
  tables_read_unlock(&dp->tables, DP_READER_SYNC);
  if (rc < 0 && rc != -ENOENT) dp_drop(dp->counters, DP_DROP_TAP_WRITE);
  return rc;
}

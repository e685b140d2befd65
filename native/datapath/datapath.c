/* One native data path, whole; see datapath.h. */
#include "datapath/datapath.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "esp/sa_table.h"

/* Most TAPs a data path holds at once (one per network). */
#define MAX_TAPS 1024

int datapath_init(dp_datapath *dp, const io_config *cfg, uint64_t *counters, size_t punt_capacity) {
  memset(dp, 0, sizeof *dp);
  dp->cfg = *cfg;
  dp->counters = counters;
  int rc = tables_init(&dp->tables);
  if (rc < 0) return rc;
  sa_tables_init(&dp->tables);
  dp->tables.data_port = cfg->port;
  rc = punt_init(&dp->punt, punt_capacity);
  if (rc < 0) {
    sa_tables_destroy(&dp->tables);
    tables_destroy(&dp->tables);
  }
  return rc;
}

/* The TAP descriptors held, with their VNIs; returns how many. */
static int held_taps(dp_datapath *dp, int *fds, uint32_t *vnis) {
  tables_read_lock(&dp->tables);
  int n = tables_tap_fds(&dp->tables, fds, vnis, MAX_TAPS);
  tables_read_unlock(&dp->tables);
  return n;
}

void datapath_destroy(dp_datapath *dp) {
  datapath_stop(dp);
  int fds[MAX_TAPS];
  uint32_t vnis[MAX_TAPS];
  int n = held_taps(dp, fds, vnis);
  for (int i = 0; i < n; i++) close(fds[i]);
  sa_tables_destroy(&dp->tables);
  tables_destroy(&dp->tables);
  punt_destroy(&dp->punt);
}

int datapath_start(dp_datapath *dp, void (*notify)(void *arg), void *arg) {
  if (dp->io != NULL) return -EALREADY;
  dp->punt.notify_arg = arg;
  dp->punt.notify = notify;
  int err = 0;
  dp->io = io_start(&dp->tables, &dp->cfg, dp->counters + DP_COUNTER_SLOTS, &dp->punt, &err);
  if (dp->io == NULL) {
    dp->punt.notify = NULL;
    return err;
  }
  int fds[MAX_TAPS];
  uint32_t vnis[MAX_TAPS];
  int n = held_taps(dp, fds, vnis);
  for (int i = 0; i < n; i++) io_tap_add(dp->io, vnis[i], fds[i]);
  dp->tables.data_port = io_data_port(dp->io);
  return dp->tables.data_port;
}

void datapath_stop(dp_datapath *dp) {
  if (dp->io == NULL) return;
  io_stop(dp->io);
  dp->io = NULL;
  dp->punt.notify = NULL;
}

/* The TAP descriptor network `vni` holds now, or -1. */
static int tap_of(dp_datapath *dp, uint32_t vni) {
  tables_read_lock(&dp->tables);
  dp_network *net = tables_network(&dp->tables, vni);
  int fd = net != NULL ? net->tap_fd : -1;
  tables_read_unlock(&dp->tables);
  return fd;
}

int datapath_network_set(dp_datapath *dp, uint32_t vni, uint32_t mtu, int tap_fd, const dp_encryption *enc) {
  int old_fd = tap_of(dp, vni);
  int replaced = old_fd >= 0 && old_fd != tap_fd;
  if (replaced && dp->io != NULL) io_tap_remove(dp->io, old_fd);
  int rc = tables_network_set(&dp->tables, vni, mtu, tap_fd, enc);
  if (rc < 0) return rc;
  if (replaced) close(old_fd);
  if (tap_fd >= 0 && tap_fd != old_fd && dp->io != NULL) return io_tap_add(dp->io, vni, tap_fd);
  return 0;
}

int datapath_network_remove(dp_datapath *dp, uint32_t vni) {
  int fd = tap_of(dp, vni);
  if (fd >= 0 && dp->io != NULL) io_tap_remove(dp->io, fd);
  tables_sa_network_release(&dp->tables, vni);
  int removed_fd = -1;
  int rc = tables_network_remove(&dp->tables, vni, &removed_fd);
  if (removed_fd >= 0) close(removed_fd);
  return rc;
}

uint32_t datapath_vtep_refs(dp_datapath *dp, uint32_t vni, const dp_addr *vtep) {
  tables_read_lock(&dp->tables);
  dp_network *net = tables_network(&dp->tables, vni);
  uint32_t refs = net != NULL ? net_vtep_refs(net, vtep) : 0;
  tables_read_unlock(&dp->tables);
  return refs;
}

int datapath_egress(dp_datapath *dp, uint32_t vni, uint8_t *frame, size_t len, const dp_egress_sink *sink) {
  dp_egress_sink sync = *sink;
  sync.sa_slot = DP_SA_SLOT_SYNC;
  tables_read_lock(&dp->tables);
  sync.data_port = dp->tables.data_port;
  int verdict = dp_egress(tables_network(&dp->tables, vni), frame, len, dp->counters, &sync);
  tables_read_unlock(&dp->tables);
  return verdict;
}

/* Fills `out` from a delivery that is valid under the read lock only. */
static int delivered(int verdict, const dp_delivery *d, datapath_delivery *out) {
  if (verdict == DP_PASS) {
    out->vni = d->net->vni;
    out->frame = d->frame;
    out->len = d->len;
  }
  return verdict;
}

int datapath_ingress(dp_datapath *dp, const dp_addr *src, uint8_t *payload, size_t len, datapath_delivery *out) {
  dp_delivery d;
  tables_read_lock(&dp->tables);
  int verdict = delivered(dp_ingress(&dp->tables, src, payload, len, dp->counters, &d), &d, out);
  tables_read_unlock(&dp->tables);
  return verdict;
}

int datapath_esp_ingress(dp_datapath *dp, const dp_addr *src, uint8_t *packet, size_t len, datapath_delivery *out) {
  dp_delivery d;
  tables_read_lock(&dp->tables);
  int verdict =
      delivered(dp_esp_ingress(&dp->tables, src, packet, len, DP_SA_SLOT_SYNC, dp->counters, &d), &d, out);
  tables_read_unlock(&dp->tables);
  return verdict;
}

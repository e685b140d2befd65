/* Per-VNI tables with VTEP refcounts derived from the FDB; see tables.h. */
#define _GNU_SOURCE
#include "tables/tables.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tables/groups.h"
#include "tables/storm.h"

int tables_init(dp_tables *t) {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
#ifdef __GLIBC__
  /* Workers hold their read lock for a burst at a time; a writer must not starve behind them. */
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
  int rc = 0;
  int made = 0;
  while (rc == 0 && made < DP_READERS) {
    rc = pthread_rwlock_init(&t->readers[made].lock, &attr);
    if (rc == 0) made++;
  }
  pthread_rwlockattr_destroy(&attr);
  if (rc != 0) {
    while (made > 0) pthread_rwlock_destroy(&t->readers[--made].lock);
    return -rc;
  }
  oa_init(&t->networks, sizeof(uint32_t), sizeof(dp_network *));
  rc = peers_init(&t->peers, DP_READERS);
  if (rc < 0) {
    for (int i = 0; i < DP_READERS; i++) pthread_rwlock_destroy(&t->readers[i].lock);
    oa_free(&t->networks);
  }
  return rc;
}

/* The SAs of sa_out were released by their owner (esp/sa_table.h); only the map goes here. */
static void network_free(dp_network *net) {
  net_groups_clear(net, NULL);
  free(net->storm);
  oa_free(&net->sa_out);
  oa_free(&net->fdb);
  oa_free(&net->neigh);
  oa_free(&net->vteps);
  free(net->drops);
  free(net);
}

static void free_network_entry(const void *key, void *val, void *arg) {
  (void)key;
  (void)arg;
  network_free(*(dp_network **)val);
}

void tables_destroy(dp_tables *t) {
  oa_each(&t->networks, free_network_entry, NULL);
  oa_free(&t->networks);
  peers_destroy(&t->peers);
  for (int i = 0; i < DP_READERS; i++) pthread_rwlock_destroy(&t->readers[i].lock);
}

void tables_read_lock(dp_tables *t, int slot) { pthread_rwlock_rdlock(&t->readers[slot].lock); }
void tables_read_unlock(dp_tables *t, int slot) { pthread_rwlock_unlock(&t->readers[slot].lock); }

void tables_write_lock(dp_tables *t) {
  for (int i = 0; i < DP_READERS; i++) pthread_rwlock_wrlock(&t->readers[i].lock);
}

void tables_write_unlock(dp_tables *t) {
  for (int i = DP_READERS - 1; i >= 0; i--) pthread_rwlock_unlock(&t->readers[i].lock);
}

dp_network *tables_network(dp_tables *t, uint32_t vni) {
  dp_network **slot = oa_get(&t->networks, &vni);
  return slot ? *slot : NULL;
}

/* A new network's tables, or NULL when out of memory. */
static dp_network *network_new(dp_tables *t, uint32_t vni) {
  dp_network *net = calloc(1, sizeof *net);
  if (net == NULL) return NULL;
  net->vni = vni;
  net->drops = calloc(DP_MAX_WORKERS, sizeof *net->drops);
  net->storm = aligned_alloc(64, sizeof *net->storm);
  if (net->storm != NULL) memset(net->storm, 0, sizeof *net->storm);
  oa_init(&net->fdb, 6, sizeof(dp_fdb_entry));
  oa_init(&net->neigh, sizeof(dp_addr), 6);
  oa_init(&net->vteps, sizeof(dp_addr), sizeof(dp_vtep));
  oa_init(&net->groups, 6, sizeof(void *));
  net->peer_counts = t->peers.counts;
  oa_init(&net->sa_out, sizeof(dp_addr), sizeof(void *));
  if (net->drops == NULL || net->storm == NULL || oa_put(&t->networks, &vni, &net, NULL) < 0) {
    network_free(net);
    return NULL;
  }
  return net;
}

int tables_network_set(dp_tables *t, uint32_t vni, uint32_t mtu, const int *tap_fds, int queues,
                       const dp_encryption *enc, const dp_multicast *mc) {
  if (queues < 0 || queues > DP_MAX_WORKERS) return -EINVAL;
  int rc = 0;
  tables_write_lock(t);
  dp_network *net = tables_network(t, vni);
  if (net == NULL && (net = network_new(t, vni)) == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  net->mtu = mtu;
  net->tap_queues = queues;
  for (int i = 0; i < DP_MAX_WORKERS; i++) net->tap_fds[i] = i < queues ? tap_fds[i] : -1;
  net->encrypted = enc != NULL;
  net->carrier = enc != NULL ? enc->carrier : 0;
  net->multicast = mc != NULL;
  storm_configure(net->storm, mc != NULL ? mc->rate : 0);
out:
  tables_write_unlock(t);
  return rc;
}

static void release_vtep(const void *key, void *val, void *arg) {
  (void)key;
  peers_release(arg, ((dp_vtep *)val)->peer);
}

static int capture_on(const dp_capture *c) { return c->inner || c->outer; }

int tables_network_remove(dp_tables *t, uint32_t vni, int *tap_fds) {
  dp_network *net = NULL;
  tables_write_lock(t);
  int found = oa_del(&t->networks, &vni, &net);
  if (found) oa_each(&net->vteps, release_vtep, &t->peers);
  if (found) net_groups_clear(net, &t->peers);
  if (found) t->capturing -= capture_on(&net->capture);
  tables_write_unlock(t);
  if (!found) return -ENOENT;
  int queues = net->tap_queues;
  if (tap_fds) memcpy(tap_fds, net->tap_fds, (size_t)queues * sizeof *tap_fds);
  network_free(net);
  return queues;
}

int tables_capture_set(dp_tables *t, uint32_t vni, const dp_capture *c) {
  dp_capture off;
  memset(&off, 0, sizeof off);
  tables_write_lock(t);
  dp_network *net = tables_network(t, vni);
  if (net) {
    t->capturing -= capture_on(&net->capture);
    net->capture = c != NULL && capture_on(c) ? *c : off;
    t->capturing += capture_on(&net->capture);
  }
  tables_write_unlock(t);
  return net ? 0 : -ENOENT;
}

/* One FDB entry more (+1) or less (−1) on `vtep`; returns its counter index. */
static uint32_t vtep_ref(dp_tables *t, dp_network *net, const dp_addr *vtep, int delta) {
  dp_vtep *v = oa_get(&net->vteps, vtep);
  if (v == NULL) {
    if (delta < 0) return DP_NO_PEER;
    dp_vtep one = {1, peers_acquire(&t->peers, vtep)};
    if (oa_put(&net->vteps, vtep, &one, NULL) < 0) peers_release(&t->peers, one.peer);
    return one.peer;
  }
  uint32_t peer = v->peer;
  if (delta > 0) {
    v->refs++;
  } else if (--v->refs == 0) {
    oa_del(&net->vteps, vtep, NULL);
    peers_release(&t->peers, peer);
  }
  return peer;
}

int tables_fdb_set(dp_tables *t, uint32_t vni, const uint8_t mac[6], const dp_addr *vtep) {
  int rc = 0;
  tables_write_lock(t);
  dp_network *net = tables_network(t, vni);
  const dp_fdb_entry *cur = net != NULL ? oa_get(&net->fdb, mac) : NULL;
  if (net == NULL) {
    rc = -ENOENT;
  } else if (cur == NULL || memcmp(&cur->vtep, vtep, sizeof *vtep) != 0) {
    dp_fdb_entry e, old;
    memset(&e, 0, sizeof e);
    e.vtep = *vtep;
    e.peer = vtep_ref(t, net, vtep, +1);
    int put = oa_put(&net->fdb, mac, &e, &old);
    if (put < 0) {
      vtep_ref(t, net, vtep, -1);
      rc = -ENOMEM;
    } else if (put == 1) {
      vtep_ref(t, net, &old.vtep, -1);
    }
  }
  tables_write_unlock(t);
  return rc;
}

int tables_fdb_delete(dp_tables *t, uint32_t vni, const uint8_t mac[6]) {
  int rc = -ENOENT;
  dp_fdb_entry old;
  tables_write_lock(t);
  dp_network *net = tables_network(t, vni);
  if (net && oa_del(&net->fdb, mac, &old)) {
    vtep_ref(t, net, &old.vtep, -1);
    rc = 0;
  }
  tables_write_unlock(t);
  return rc;
}

int tables_neigh_set(dp_tables *t, uint32_t vni, const dp_addr *ip, const uint8_t mac[6]) {
  int rc = 0;
  tables_write_lock(t);
  dp_network *net = tables_network(t, vni);
  if (net == NULL) rc = -ENOENT;
  else if (oa_put(&net->neigh, ip, mac, NULL) < 0) rc = -ENOMEM;
  tables_write_unlock(t);
  return rc;
}

int tables_neigh_delete(dp_tables *t, uint32_t vni, const dp_addr *ip) {
  tables_write_lock(t);
  dp_network *net = tables_network(t, vni);
  int rc = net && oa_del(&net->neigh, ip, NULL) ? 0 : -ENOENT;
  tables_write_unlock(t);
  return rc;
}

typedef struct tap_collect {
  int *fds;
  uint32_t *vnis;
  int *queues;
  int max;
  int n;
} tap_collect;

static void collect_tap(const void *key, void *val, void *arg) {
  tap_collect *c = arg;
  dp_network *net = *(dp_network **)val;
  (void)key;
  for (int q = 0; q < net->tap_queues && c->n < c->max; q++) {
    c->fds[c->n] = net->tap_fds[q];
    c->vnis[c->n] = net->vni;
    c->queues[c->n] = q;
    c->n++;
  }
}

int tables_tap_fds(dp_tables *t, int *fds, uint32_t *vnis, int *queues, int max) {
  tap_collect c = {fds, vnis, queues, max, 0};
  oa_each(&t->networks, collect_tap, &c);
  return c.n;
}

const dp_addr *net_fdb_lookup(const dp_network *net, const uint8_t mac[6]) { return oa_get(&net->fdb, mac); }

const uint8_t *net_neigh_lookup(const dp_network *net, uint8_t family, const uint8_t *ip) {
  dp_addr key;
  memset(&key, 0, sizeof key);
  key.family = family;
  memcpy(key.b, ip, family == 4 ? 4 : 16);
  return oa_get(&net->neigh, &key);
}

int net_is_vtep(const dp_network *net, const dp_addr *addr) { return oa_get(&net->vteps, addr) != NULL; }

uint32_t net_vtep_peer(const dp_network *net, const dp_addr *addr) {
  const dp_vtep *v = oa_get(&net->vteps, addr);
  return v ? v->peer : DP_NO_PEER;
}

uint32_t net_vtep_refs(const dp_network *net, const dp_addr *addr) {
  const dp_vtep *v = oa_get(&net->vteps, addr);
  return v ? v->refs : 0;
}

void net_drops_sum(const dp_network *net, uint64_t *out) {
  for (int w = 0; w < DP_MAX_WORKERS; w++)
    for (int r = 0; r < DP_NET_DROP_SLOTS; r++) out[r] += net->drops[w][r];
}

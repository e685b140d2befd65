/* Outbound and inbound SAs of the encrypted networks; see sa_table.h. */
#define _GNU_SOURCE
#include "esp/sa_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "esp/esp.h"
#include "esp/replay.h"

struct dp_sa_out {
  esp_sa sa;
  uint32_t key_tag;
  /** Last sequence number handed out (atomic: both slots may seal). */
  uint64_t last_seq;
  /** Largest number the SA may use: REPLAY_MAX_SEQ with ESN, 2^32 − 1 without. */
  uint64_t max_seq;
  esp_ctx ctx[DP_SA_SLOTS];
};

struct dp_sa_in {
  esp_sa sa;
  uint32_t vni;
  uint32_t key_tag;
  dp_addr peer;
  replay_window window;
  /** Spinlock over the window: check → decrypt → accept by one slot at a time. */
  uint8_t busy;
  esp_ctx ctx[DP_SA_SLOTS];
};

/** Key of the inbound table: the peer's 17 address bytes, then the SPI (host order). */
#define SA_IN_KEY_LEN (sizeof(dp_addr) + sizeof(uint32_t))

static void sa_in_key(uint8_t key[SA_IN_KEY_LEN], const dp_addr *peer, uint32_t spi) {
  memcpy(key, peer, sizeof *peer);
  memcpy(key + sizeof *peer, &spi, sizeof spi);
}

static void ctxs_free(esp_ctx *ctx) {
  for (int s = 0; s < DP_SA_SLOTS; s++) esp_ctx_free(&ctx[s]);
}

/* esp_sa_init + the keyed context of the synchronous slot. 0, -EINVAL or -ENOMEM. */
static int sa_setup(esp_sa *sa, esp_ctx *ctx, const dp_sa_params *p) {
  if (esp_sa_init(sa, p->spi, p->key, p->key_len, p->salt, p->esn) < 0) return -EINVAL;
  if (esp_ctx_init(&ctx[DP_SA_SLOT_SYNC], sa) < 0) {
    esp_sa_clear(sa);
    return -ENOMEM;
  }
  return 0;
}

/* The context of `slot`, keyed on first use by that slot's thread; NULL when that failed (out of memory). */
static esp_ctx *slot_ctx(const esp_sa *sa, esp_ctx *ctx, int slot) {
  if (ctx[slot].seal == NULL && esp_ctx_init(&ctx[slot], sa) < 0) return NULL;
  return &ctx[slot];
}

static void sa_out_free(dp_sa_out *o) {
  ctxs_free(o->ctx);
  esp_sa_clear(&o->sa);
  free(o);
}

static void sa_in_free(dp_sa_in *i) {
  ctxs_free(i->ctx);
  esp_sa_clear(&i->sa);
  replay_window_free(&i->window);
  free(i);
}

static void free_out_entry(const void *key, void *val, void *arg) {
  (void)key;
  (void)arg;
  sa_out_free(*(dp_sa_out **)val);
}

static void free_in_entry(const void *key, void *val, void *arg) {
  (void)key;
  (void)arg;
  sa_in_free(*(dp_sa_in **)val);
}

void sa_tables_init(dp_tables *t) { oa_init(&t->sa_in, SA_IN_KEY_LEN, sizeof(dp_sa_in *)); }

/* Frees the outbound SAs of a network; its table stays, empty. */
static void network_release(dp_network *net) {
  oa_each(&net->sa_out, free_out_entry, NULL);
  oa_free(&net->sa_out);
}

static void release_network_entry(const void *key, void *val, void *arg) {
  (void)key;
  (void)arg;
  network_release(*(dp_network **)val);
}

void sa_tables_destroy(dp_tables *t) {
  oa_each(&t->networks, release_network_entry, NULL);
  oa_each(&t->sa_in, free_in_entry, NULL);
  oa_free(&t->sa_in);
}

int tables_sa_network_release(dp_tables *t, uint32_t vni) {
  tables_write_lock(t);
  dp_network *net = tables_network(t, vni);
  if (net != NULL) network_release(net);
  tables_write_unlock(t);
  return net != NULL ? 0 : -ENOENT;
}

int tables_sa_out_set(dp_tables *t, uint32_t vni, const dp_addr *peer, const dp_sa_params *p, uint64_t last_used) {
  dp_sa_out *o = calloc(1, sizeof *o);
  if (o == NULL) return -ENOMEM;
  int rc = sa_setup(&o->sa, o->ctx, p);
  if (rc < 0) {
    free(o);
    return rc;
  }
  o->key_tag = p->key_tag;
  o->last_seq = last_used;
  o->max_seq = p->esn ? REPLAY_MAX_SEQ : UINT32_MAX;
  dp_sa_out *old = NULL;
  tables_write_lock(t);
  dp_network *net = tables_network(t, vni);
  if (net == NULL) rc = -ENOENT;
  else if (oa_put(&net->sa_out, peer, &o, &old) < 0) rc = -ENOMEM;
  tables_write_unlock(t);
  if (rc < 0) sa_out_free(o);
  if (old != NULL) sa_out_free(old);
  return rc;
}

int tables_sa_out_delete(dp_tables *t, uint32_t vni, const dp_addr *peer) {
  dp_sa_out *old = NULL;
  tables_write_lock(t);
  dp_network *net = tables_network(t, vni);
  int found = net != NULL && oa_del(&net->sa_out, peer, &old);
  tables_write_unlock(t);
  if (!found) return -ENOENT;
  sa_out_free(old);
  return 0;
}

int tables_sa_in_add(dp_tables *t, uint32_t vni, const dp_addr *peer, const dp_sa_params *p, uint32_t window, uint64_t window_top) {
  dp_sa_in *i = calloc(1, sizeof *i);
  if (i == NULL) return -ENOMEM;
  int rc = replay_window_init(&i->window, window);
  if (rc < 0) {
    free(i);
    return rc;
  }
  replay_window_seed(&i->window, window_top);
  rc = sa_setup(&i->sa, i->ctx, p);
  if (rc < 0) {
    replay_window_free(&i->window);
    free(i);
    return rc;
  }
  i->vni = vni;
  i->key_tag = p->key_tag;
  i->peer = *peer;
  uint8_t key[SA_IN_KEY_LEN];
  sa_in_key(key, peer, p->spi);
  dp_sa_in *old = NULL;
  tables_write_lock(t);
  if (oa_put(&t->sa_in, key, &i, &old) < 0) rc = -ENOMEM;
  tables_write_unlock(t);
  if (rc < 0) sa_in_free(i);
  if (old != NULL) sa_in_free(old);
  return rc;
}

int tables_sa_in_delete(dp_tables *t, uint32_t vni, const dp_addr *peer, uint32_t spi, uint32_t key_tag) {
  uint8_t key[SA_IN_KEY_LEN];
  sa_in_key(key, peer, spi);
  dp_sa_in *old = NULL;
  tables_write_lock(t);
  dp_sa_in **held = oa_get(&t->sa_in, key);
  /* Two SAs could in principle share an SPI: only remove the one the caller names. */
  if (held != NULL && (*held)->vni == vni && (*held)->key_tag == key_tag) oa_del(&t->sa_in, key, &old);
  tables_write_unlock(t);
  if (old == NULL) return -ENOENT;
  sa_in_free(old);
  return 0;
}

typedef struct sa_walk {
  int64_t vni;
  uint32_t net_vni;
  void (*fn)(const dp_sa_info *info, void *arg);
  void *arg;
} sa_walk;

static void report_out(const void *key, void *val, void *arg) {
  const sa_walk *w = arg;
  const dp_sa_out *o = *(dp_sa_out **)val;
  dp_sa_info info = {w->net_vni, *(const dp_addr *)key, o->key_tag, o->sa.spi, 1,
                     __atomic_load_n(&o->last_seq, __ATOMIC_RELAXED)};
  w->fn(&info, w->arg);
}

static void report_network(const void *key, void *val, void *arg) {
  sa_walk *w = arg;
  const dp_network *net = *(dp_network **)val;
  (void)key;
  if (w->vni >= 0 && net->vni != (uint32_t)w->vni) return;
  w->net_vni = net->vni;
  oa_each(&net->sa_out, report_out, w);
}

static void report_in(const void *key, void *val, void *arg) {
  const sa_walk *w = arg;
  dp_sa_in *i = *(dp_sa_in **)val;
  (void)key;
  if (w->vni >= 0 && i->vni != (uint32_t)w->vni) return;
  dp_sa_info info = {i->vni, i->peer, i->key_tag, i->sa.spi, 0, __atomic_load_n(&i->window.top, __ATOMIC_RELAXED)};
  w->fn(&info, w->arg);
}

void tables_sa_each(dp_tables *t, int64_t vni, void (*fn)(const dp_sa_info *info, void *arg), void *arg) {
  sa_walk w = {vni, 0, fn, arg};
  tables_read_lock(t, DP_READER_SYNC); /* called from the JavaScript thread */
  oa_each(&t->networks, report_network, &w);
  oa_each(&t->sa_in, report_in, &w);
  tables_read_unlock(t, DP_READER_SYNC);
}

dp_sa_out *net_sa_out(const dp_network *net, const dp_addr *peer) {
  dp_sa_out **slot = oa_get(&net->sa_out, peer);
  if (slot == NULL) return NULL;
  dp_sa_out *o = *slot;
  return __atomic_load_n(&o->last_seq, __ATOMIC_RELAXED) < o->max_seq ? o : NULL;
}

long sa_out_seal(dp_sa_out *o, int slot, const uint8_t *payload, size_t len, uint8_t next_header, uint8_t *out,
                 size_t cap) {
  uint64_t seq = __atomic_add_fetch(&o->last_seq, 1, __ATOMIC_RELAXED);
  if (seq > o->max_seq) {
    __atomic_store_n(&o->last_seq, o->max_seq, __ATOMIC_RELAXED); /* stays exhausted */
    return ESP_ERR_SEQUENCE;
  }
  esp_ctx *ctx = slot_ctx(&o->sa, o->ctx, slot);
  return ctx != NULL ? esp_seal(ctx, seq, payload, len, next_header, out, cap) : ESP_ERR_CRYPTO;
}

uint64_t sa_out_peek(const dp_sa_out *o, uint32_t *spi) {
  *spi = o->sa.spi;
  return __atomic_load_n(&o->last_seq, __ATOMIC_RELAXED) + 1;
}

dp_sa_in *tables_sa_in(const dp_tables *t, const dp_addr *peer, uint32_t spi) {
  uint8_t key[SA_IN_KEY_LEN];
  sa_in_key(key, peer, spi);
  dp_sa_in **slot = oa_get(&t->sa_in, key);
  return slot ? *slot : NULL;
}

uint32_t sa_in_vni(const dp_sa_in *i) { return i->vni; }

uint64_t sa_in_top(const dp_sa_in *i) { return __atomic_load_n(&i->window.top, __ATOMIC_RELAXED); }

long sa_in_open(dp_sa_in *i, int slot, const uint8_t *packet, size_t len, uint8_t *out, uint8_t *next_header) {
  esp_opened info;
  esp_ctx *ctx = slot_ctx(&i->sa, i->ctx, slot);
  if (ctx == NULL) return ESP_DROP_BAD_SPI; /* no memory for this worker's context: as if the SA were not there */
  while (__atomic_test_and_set(&i->busy, __ATOMIC_ACQUIRE)) {
  }
  long rc = esp_open(ctx, &i->window, packet, len, out, &info);
  __atomic_clear(&i->busy, __ATOMIC_RELEASE);
  if (rc >= 0) *next_header = info.next_header;
  return rc;
}

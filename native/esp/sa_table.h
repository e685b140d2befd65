/*
 * The SAs of the encrypted networks (docs/datapath.md "Encrypted networks"),
 * beside the tables they belong to:
 *
 *   outbound  per network, peer VTEP → SA + atomic next-sequence counter
 *   inbound   per data path, (peer VTEP, SPI) → SA + VNI + replay window
 *
 * Mutators take the tables' write lock; lookups, seal and open run under the
 * read lock (a worker holds it for a burst), so an SA is never freed while a
 * packet uses it. Cipher contexts are per "slot", numbered like the tables'
 * reader slots: slot 0 for the synchronous processEgress/processEsp of the
 * JavaScript thread, 1 + i for I/O worker i — no context is ever shared
 * between threads. Slot 0's is made with the SA; a worker's when that worker
 * first seals or opens with it (a key schedule once per SA and worker,
 * nothing per packet). An inbound SA's replay window is serialised by a
 * spinlock around check → decrypt → accept.
 */
#ifndef OVERLAYD_SA_TABLE_H
#define OVERLAYD_SA_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "tables/tables.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Cipher-context slots per SA: 0 = the JavaScript thread, 1 + i = I/O worker i. */
#define DP_SA_SLOTS DP_READERS
#define DP_SA_SLOT_SYNC DP_READER_SYNC

typedef struct dp_sa_out dp_sa_out;
typedef struct dp_sa_in dp_sa_in;

/** What an SA is made of (src/crypto SecurityAssociation, as the EspPlanner derived it). */
typedef struct dp_sa_params {
  uint32_t spi;
  uint32_t key_tag;
  const uint8_t *key;
  /** 16 or 32. */
  size_t key_len;
  /** 4 bytes. */
  const uint8_t *salt;
  /** 64-bit extended sequence numbers. */
  int esn;
} dp_sa_params;

/** One SA as tables_sa_each() reports it. */
typedef struct dp_sa_info {
  uint32_t vni;
  dp_addr peer;
  uint32_t key_tag;
  uint32_t spi;
  /** 1 outbound, 0 inbound. */
  int outbound;
  /** Outbound: last sequence number used. Inbound: the window's top. */
  uint64_t seq;
} dp_sa_info;

/*
 * Lifetime: the tables hold the SA maps, this file owns what they point to.
 * The owner of both (datapath/datapath.c) calls sa_tables_init after
 * tables_init, tables_sa_network_release before tables_network_remove, and
 * sa_tables_destroy before tables_destroy.
 */

/** Prepares the inbound table of `t`. */
void sa_tables_init(dp_tables *t);
/** Frees every SA, inbound and outbound; the tables themselves stay for tables_destroy. */
void sa_tables_destroy(dp_tables *t);
/** Frees the outbound SAs of network `vni` (write lock); 0 or -ENOENT. */
int tables_sa_network_release(dp_tables *t, uint32_t vni);

/* Mutators: take the write lock. Return 0 or -errno (-EINVAL: bad key/SPI/window, -ENOENT: no such network). */

/** Installs (or replaces) the outbound SA of (vni, peer); its first packet carries `last_used` + 1. */
int tables_sa_out_set(dp_tables *t, uint32_t vni, const dp_addr *peer, const dp_sa_params *p, uint64_t last_used);
/** 0, or -ENOENT when there was none. */
int tables_sa_out_delete(dp_tables *t, uint32_t vni, const dp_addr *peer);
/**
 * Installs (or replaces) the inbound SA of (peer, spi) for network `vni` with
 * a window of `window` numbers that starts at `window_top` (replay_window_seed).
 */
int tables_sa_in_add(dp_tables *t, uint32_t vni, const dp_addr *peer, const dp_sa_params *p, uint32_t window, uint64_t window_top);
/** Removes the inbound SA of (peer, spi) if it is the one of (vni, key_tag); 0 or -ENOENT. */
int tables_sa_in_delete(dp_tables *t, uint32_t vni, const dp_addr *peer, uint32_t spi, uint32_t key_tag);

/** Calls fn for every SA (outbound first), of network `vni` only when `vni` ≥ 0. Takes the read lock. */
void tables_sa_each(dp_tables *t, int64_t vni, void (*fn)(const dp_sa_info *info, void *arg), void *arg);

/* Packet side: caller holds the read lock. */

/** The outbound SA toward `peer` on `net` if it can still send, else NULL (→ no_sa). */
dp_sa_out *net_sa_out(const dp_network *net, const dp_addr *peer);
/**
 * Seals `len` bytes at `payload` with the SA's next sequence number into
 * `out` (esp_seal() semantics; in place when payload == out + ESP_PREFIX_LEN).
 * Returns the packet length or a negative esp_error (sequence exhausted).
 */
long sa_out_seal(dp_sa_out *o, int slot, const uint8_t *payload, size_t len, uint8_t next_header, uint8_t *out,
                 size_t cap);

/** A traced frame's look at an outbound SA: its SPI, and the sequence number the next seal would use (none is used). */
uint64_t sa_out_peek(const dp_sa_out *o, uint32_t *spi);

/** The inbound SA of (peer, spi), or NULL (→ esp_bad_spi). */
dp_sa_in *tables_sa_in(const dp_tables *t, const dp_addr *peer, uint32_t spi);
/** The network an inbound SA belongs to. */
uint32_t sa_in_vni(const dp_sa_in *i);
/** A traced packet's look at an inbound SA: the top of its replay window (nothing is opened, the window stays). */
uint64_t sa_in_top(const dp_sa_in *i);
/**
 * esp_open() on the SA's window, serialised against the other slots. Returns
 * the payload length (next header in *next_header) or an esp_drop reason.
 */
long sa_in_open(dp_sa_in *i, int slot, const uint8_t *packet, size_t len, uint8_t *out, uint8_t *next_header);

#ifdef __cplusplus
}
#endif

#endif

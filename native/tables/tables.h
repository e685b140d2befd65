/*
 * The state the data path reads (docs/datapath.md "State the path reads"):
 * networks by VNI, and per network the FDB (MAC → VTEP), the neighbour table
 * (IPv4/IPv6 → MAC) and the VTEP set derived from the FDB by refcount.
 *
 * Concurrency: a "big reader" lock. Every reader thread has its own
 * writer-preferring rwlock on its own cache line (slot 0: the JavaScript
 * thread; 1 + i: I/O worker i), so readers never touch a line another reader
 * writes: a worker takes its own lock around a burst (tables_read_lock) and
 * calls the lookups without locking. A writer takes every slot's lock in
 * order (tables_write_lock); the mutators do that themselves.
 */
#ifndef OVERLAYD_TABLES_H
#define OVERLAYD_TABLES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/addr.h"
#include "tables/oa_table.h"
#include "tables/peers.h"

/** Most I/O workers a data path runs (overlayd --workers). */
#define DP_MAX_WORKERS 16
/** Reader slots of the tables: 0 for the JavaScript thread, 1 + i for worker i. */
#define DP_READERS (1 + DP_MAX_WORKERS)
#define DP_READER_SYNC 0
/** Slots of a network's per-worker drop row (≥ the drop reasons of pipeline/counters.h). */
#define DP_NET_DROP_SLOTS 32

/**
 * What a network's capture mirrors to the punt queue (`overlayctl capture`):
 * the inner frames, the datagrams as they crossed the underlay, or both; only
 * those whose inner source or destination is `host` and whose remote VTEP is
 * `vtep`, when set (io/capture.c applies them).
 */
typedef struct dp_capture {
  uint8_t inner;
  uint8_t outer;
  uint8_t has_host;
  uint8_t has_vtep;
  dp_addr host;
  dp_addr vtep;
} dp_capture;

/** One overlay network this host has joined. */
typedef struct dp_network {
  uint32_t vni;
  /** Overlay IP MTU; maxFrame = mtu + 14. */
  uint32_t mtu;
  /** The TAP's queues (vnet header mode; one per worker when multi-queue); 0: no TAP. */
  int tap_queues;
  int tap_fds[DP_MAX_WORKERS];
  /** Frames of this network mirrored to the punt queue (all zero: none). */
  dp_capture capture;
  oa_table fdb;   /* mac[6] → dp_fdb_entry */
  oa_table neigh; /* dp_addr → mac[6] */
  oa_table vteps; /* dp_addr → dp_vtep */
  /** The tables' per-VTEP counters (peers.h), for the stages that count. */
  dp_peer_counts *peer_counts;
  /** Non-zero: an encrypted network (nothing in plaintext, from networkSet on). */
  uint8_t encrypted;
  /** DP_CARRIER_IP or DP_CARRIER_UDP (encrypted networks). */
  uint8_t carrier;
  oa_table sa_out; /* dp_addr peer → dp_sa_out*: the map is the tables', the SAs esp/sa_table.c's */
  /** Drops of this network by reason, one row per worker (written by that worker: io/drop_events.h). */
  uint64_t (*drops)[DP_NET_DROP_SLOTS];
  /** Non-zero: a multicast network (docs/multicast.md): broadcast and multicast frames are replicated. */
  uint8_t multicast;
  /** Its storm control (tables/storm.h), shared by the workers; allocated with the network. */
  struct dp_storm *storm;
  oa_table groups; /* group mac[6] → dp_group*: the VTEPs of each group (tables/groups.h) */
} dp_network;

/** The multicast setting of a network, as tables_network_set takes it (NULL: off). */
typedef struct dp_multicast {
  /** Storm control: replicated frames per second over all workers (0: no limit). */
  uint32_t rate;
} dp_multicast;

/** An FDB value: the VTEP, then its counter index (peers.h). net_fdb_lookup points at `vtep`. */
typedef struct dp_fdb_entry {
  dp_addr vtep;
  uint32_t peer;
} dp_fdb_entry;

/** A VTEP of a network: FDB entries pointing at it, and its counter index. */
typedef struct dp_vtep {
  uint32_t refs;
  uint32_t peer;
} dp_vtep;

/** How an encrypted network's ESP travels: IP protocol 50, or ESP-in-UDP (RFC 3948). */
enum dp_carrier { DP_CARRIER_IP = 0, DP_CARRIER_UDP = 1 };

/** The encryption of a network, fixed when it is added (NULL: plain). */
typedef struct dp_encryption {
  uint8_t carrier;
} dp_encryption;

/** One reader's lock, alone on its cache line. */
typedef struct dp_reader_lock {
  pthread_rwlock_t lock;
} __attribute__((aligned(64))) dp_reader_lock;

typedef struct dp_tables {
  dp_reader_lock readers[DP_READERS];
  oa_table networks; /* uint32_t vni → dp_network* */
  oa_table sa_in;    /* (dp_addr peer, spi) → dp_sa_in*: initialised and filled by esp/sa_table.c */
  /** The data port: inner UDP destination of ESP traffic, checked on receipt. */
  uint16_t data_port;
  /** Networks with a capture on: receive bursts look for their network only when non-zero. */
  int capturing;
  /** Remote VTEPs of every network, with their counters. */
  dp_peers peers;
} dp_tables;

int tables_init(dp_tables *t);
/** Frees every network; the caller has closed or owns the TAP descriptors and released the SAs (sa_tables_destroy). */
void tables_destroy(dp_tables *t);

/** Reader `slot` (DP_READER_SYNC, or 1 + worker index) holds its own lock. */
void tables_read_lock(dp_tables *t, int slot);
void tables_read_unlock(dp_tables *t, int slot);
/** Every reader's lock, in slot order: no reader is inside the tables. */
void tables_write_lock(dp_tables *t);
void tables_write_unlock(dp_tables *t);

/** The TAP queue descriptor worker `index` writes to and reads (-1: none). */
static inline int net_tap_queue(const dp_network *net, int index) {
  return net->tap_queues > 0 ? net->tap_fds[index % net->tap_queues] : -1;
}

/* Mutators: take the write lock. Return 0 or -errno. */

/**
 * Adds the network, or updates mtu/TAP queues/encryption/multicast of an
 * existing one (its tables stay); `queues` descriptors in `tap_fds` (0: no
 * TAP, at most DP_MAX_WORKERS); `enc` NULL: plain; `mc` NULL: no multicast.
 */
int tables_network_set(dp_tables *t, uint32_t vni, uint32_t mtu, const int *tap_fds, int queues,
                       const dp_encryption *enc, const dp_multicast *mc);
/**
 * Removes the network; copies its TAP queue descriptors to `tap_fds` (room
 * for DP_MAX_WORKERS) for the caller to close and returns how many, or
 * -ENOENT. Its outbound SAs must be released first (tables_sa_network_release).
 */
int tables_network_remove(dp_tables *t, uint32_t vni, int *tap_fds);
/** Sets (or with NULL, or nothing to mirror, ends) the network's capture; 0 or -ENOENT. */
int tables_capture_set(dp_tables *t, uint32_t vni, const dp_capture *c);
int tables_fdb_set(dp_tables *t, uint32_t vni, const uint8_t mac[6], const dp_addr *vtep);
/** 0 when deleted, -ENOENT when the network or entry is missing. */
int tables_fdb_delete(dp_tables *t, uint32_t vni, const uint8_t mac[6]);
int tables_neigh_set(dp_tables *t, uint32_t vni, const dp_addr *ip, const uint8_t mac[6]);
int tables_neigh_delete(dp_tables *t, uint32_t vni, const dp_addr *ip);

/* Lookups: caller holds the read (or write) lock. */

dp_network *tables_network(dp_tables *t, uint32_t vni);
/** Collects up to `max` TAP queue descriptors with their VNIs and queue numbers; returns how many. */
int tables_tap_fds(dp_tables *t, int *fds, uint32_t *vnis, int *queues, int max);
const dp_addr *net_fdb_lookup(const dp_network *net, const uint8_t mac[6]);
const uint8_t *net_neigh_lookup(const dp_network *net, uint8_t family, const uint8_t *ip);
int net_is_vtep(const dp_network *net, const dp_addr *addr);
/** Adds the network's drop rows, summed over the workers, to `out` (DP_NET_DROP_SLOTS). */
void net_drops_sum(const dp_network *net, uint64_t *out);
/** The counter index of VTEP `addr` of the network, or DP_NO_PEER when it is none (or uncounted). */
uint32_t net_vtep_peer(const dp_network *net, const dp_addr *addr);
/** The counter index of a VTEP that net_fdb_lookup returned (it points into its FDB entry). */
static inline uint32_t net_fdb_peer(const dp_addr *fdb_vtep) {
  uint32_t peer;
  memcpy(&peer, (const uint8_t *)fdb_vtep + offsetof(dp_fdb_entry, peer), sizeof peer);
  return peer;
}
/** References held on `addr` by FDB entries of the network (0 when not a VTEP). */
uint32_t net_vtep_refs(const dp_network *net, const dp_addr *addr);

#endif

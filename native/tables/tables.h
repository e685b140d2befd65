/*
 * The state the data path reads (docs/datapath.md "State the path reads"):
 * networks by VNI, and per network the FDB (MAC → VTEP), the neighbour table
 * (IPv4/IPv6 → MAC) and the VTEP set derived from the FDB by refcount.
 *
 * Concurrency: one writer-preferring rwlock. Workers take the read lock
 * around a burst (tables_read_lock) and call the lookups without locking;
 * the mutators take the write lock themselves.
 */
#ifndef OVERLAYD_TABLES_H
#define OVERLAYD_TABLES_H

#include <pthread.h>
#include <stdint.h>

#include "base/addr.h"
#include "tables/oa_table.h"

/** One overlay network this host has joined. */
typedef struct dp_network {
  uint32_t vni;
  /** Overlay IP MTU; maxFrame = mtu + 14. */
  uint32_t mtu;
  /** TAP descriptor (vnet header mode), or -1. */
  int tap_fd;
  /** Non-zero: frames of this network are mirrored to the punt queue. */
  int capture;
  oa_table fdb;   /* mac[6] → dp_addr */
  oa_table neigh; /* dp_addr → mac[6] */
  oa_table vteps; /* dp_addr → uint32_t refcount */
  /** Non-zero: an encrypted network (nothing in plaintext, from networkSet on). */
  uint8_t encrypted;
  /** DP_CARRIER_IP or DP_CARRIER_UDP (encrypted networks). */
  uint8_t carrier;
  oa_table sa_out; /* dp_addr peer → dp_sa_out*: the map is the tables', the SAs esp/sa_table.c's */
} dp_network;

/** How an encrypted network's ESP travels: IP protocol 50, or ESP-in-UDP (RFC 3948). */
enum dp_carrier { DP_CARRIER_IP = 0, DP_CARRIER_UDP = 1 };

/** The encryption of a network, fixed when it is added (NULL: plain). */
typedef struct dp_encryption {
  uint8_t carrier;
} dp_encryption;

typedef struct dp_tables {
  pthread_rwlock_t lock;
  oa_table networks; /* uint32_t vni → dp_network* */
  oa_table sa_in;    /* (dp_addr peer, spi) → dp_sa_in*: initialised and filled by esp/sa_table.c */
  /** The data port: inner UDP destination of ESP traffic, checked on receipt. */
  uint16_t data_port;
} dp_tables;

int tables_init(dp_tables *t);
/** Frees every network; the caller has closed or owns the TAP descriptors and released the SAs (sa_tables_destroy). */
void tables_destroy(dp_tables *t);

void tables_read_lock(dp_tables *t);
void tables_read_unlock(dp_tables *t);

/* Mutators: take the write lock. Return 0 or -errno. */

/** Adds the network, or updates mtu/tap_fd/encryption of an existing one (its tables stay); `enc` NULL: plain. */
int tables_network_set(dp_tables *t, uint32_t vni, uint32_t mtu, int tap_fd, const dp_encryption *enc);
/**
 * Removes the network; returns its TAP descriptor (-1 if none) for the caller
 * to close, or -ENOENT. Its outbound SAs must be released first
 * (tables_sa_network_release).
 */
int tables_network_remove(dp_tables *t, uint32_t vni, int *tap_fd);
int tables_capture_set(dp_tables *t, uint32_t vni, int on);
int tables_fdb_set(dp_tables *t, uint32_t vni, const uint8_t mac[6], const dp_addr *vtep);
/** 0 when deleted, -ENOENT when the network or entry is missing. */
int tables_fdb_delete(dp_tables *t, uint32_t vni, const uint8_t mac[6]);
int tables_neigh_set(dp_tables *t, uint32_t vni, const dp_addr *ip, const uint8_t mac[6]);
int tables_neigh_delete(dp_tables *t, uint32_t vni, const dp_addr *ip);

/* Lookups: caller holds the read (or write) lock. */

dp_network *tables_network(dp_tables *t, uint32_t vni);
/** Collects up to `max` TAP descriptors with their VNIs; returns how many. */
int tables_tap_fds(dp_tables *t, int *fds, uint32_t *vnis, int max);
const dp_addr *net_fdb_lookup(const dp_network *net, const uint8_t mac[6]);
const uint8_t *net_neigh_lookup(const dp_network *net, uint8_t family, const uint8_t *ip);
int net_is_vtep(const dp_network *net, const dp_addr *addr);
/** References held on `addr` by FDB entries of the network (0 when not a VTEP). */
uint32_t net_vtep_refs(const dp_network *net, const dp_addr *addr);

#endif

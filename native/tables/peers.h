/*
 * Remote VTEPs as the data path counts them (docs/datapath.md "Per-VTEP
 * counters"): every address that is a VTEP of at least one network gets a
 * small index, held in the network's VTEP set and in each FDB entry, so the
 * hot path finds its counters without a lookup. Counters are per reader slot
 * (the JavaScript thread and each worker write their own block, no sharing
 * of cache lines between workers) and summed when read.
 *
 * Indexes are taken and given back by tables.c under the tables' write lock;
 * an index that comes back into use starts from zero.
 */
#ifndef OVERLAYD_TABLES_PEERS_H
#define OVERLAYD_TABLES_PEERS_H

#include <stdint.h>

#include "base/addr.h"
#include "tables/oa_table.h"

/** Most remote VTEPs counted at once; more are forwarded as usual, uncounted. */
#define DP_MAX_PEERS 1024
/** The index of a VTEP that is not counted (the table was full). */
#define DP_NO_PEER UINT32_MAX

/** What one reader slot moved to and from one remote VTEP. */
typedef struct dp_peer_counts {
  uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
} dp_peer_counts;

typedef struct dp_peers {
  oa_table index;            /* dp_addr → uint32_t index */
  dp_addr addrs[DP_MAX_PEERS];
  uint32_t refs[DP_MAX_PEERS]; /* networks whose VTEP set holds the address; 0: free */
  /** readers × DP_MAX_PEERS, slot-major. */
  dp_peer_counts *counts;
  int readers;
} dp_peers;

/** 0 or -ENOMEM. */
int peers_init(dp_peers *p, int readers);
void peers_destroy(dp_peers *p);
/** One more network has `addr` as a VTEP: its index (DP_NO_PEER when the table is full). */
uint32_t peers_acquire(dp_peers *p, const dp_addr *addr);
/** A network no longer has the VTEP of index `peer`. */
void peers_release(dp_peers *p, uint32_t peer);

/** Counts one payload sent (tx) or one frame received (rx) by reader `slot`. */
static inline void peer_count_tx(dp_peer_counts *counts, int slot, uint32_t peer, uint64_t bytes) {
  if (peer == DP_NO_PEER) return;
  dp_peer_counts *c = &counts[(size_t)slot * DP_MAX_PEERS + peer];
  c->tx_packets++;
  c->tx_bytes += bytes;
}
static inline void peer_count_rx(dp_peer_counts *counts, int slot, uint32_t peer, uint64_t bytes) {
  if (peer == DP_NO_PEER) return;
  dp_peer_counts *c = &counts[(size_t)slot * DP_MAX_PEERS + peer];
  c->rx_packets++;
  c->rx_bytes += bytes;
}

/** Calls `fn` with every counted VTEP and its counters summed over the slots. */
void peers_each(const dp_peers *p, void (*fn)(const dp_addr *addr, const dp_peer_counts *sum, void *arg), void *arg);

#endif

/*
 * The group table of a multicast network (docs/multicast.md "Replication"):
 * group MAC → the VTEPs that get its frames, as the agent's reconciler gives
 * them (Datapath.groupSet), each with its counter index (peers.h, held while
 * the list holds the VTEP). A list is replaced whole under the write lock;
 * workers read it under their read lock, like the FDB.
 *
 * A fan-out walks a replication list — one group's, or the network's whole
 * VTEP set for broadcast and link-local groups — without a callback.
 */
#ifndef OVERLAYD_TABLES_GROUPS_H
#define OVERLAYD_TABLES_GROUPS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tables/tables.h"

/** One VTEP of a replication list, with its counter index. */
typedef struct dp_copy_to {
  dp_addr vtep;
  uint32_t peer;
} dp_copy_to;

/** A group's VTEPs (heap, replaced whole). */
typedef struct dp_group {
  uint32_t n;
  dp_copy_to to[];
} dp_group;

/**
 * Sets the VTEPs of group `mac` (a group MAC: first byte odd) on network
 * `vni`, replacing its list; duplicates count once; n = 0 removes the entry.
 * 0, -ENOENT (no such network), -EINVAL (not a group MAC) or -ENOMEM.
 */
int tables_group_set(dp_tables *t, uint32_t vni, const uint8_t mac[6], const dp_addr *vteps, size_t n);
/** Calls fn for every group of network `vni` (caller holds a read lock); -ENOENT without the network. */
int net_groups_each(dp_tables *t, uint32_t vni, void (*fn)(const uint8_t *mac, const dp_group *g, void *arg), void *arg);
/** Frees every list of the network; `peers` non-NULL: gives their counter indexes back too. Under the write lock. */
void net_groups_clear(dp_network *net, dp_peers *peers);

/** The list of group `mac` (caller holds a read lock), or NULL. */
static inline const dp_group *net_group_lookup(const dp_network *net, const uint8_t mac[6]) {
  dp_group *const *g = (dp_group *const *)oa_get(&net->groups, mac);
  return g != NULL ? *g : NULL;
}

/** A walk over one replication list. */
typedef struct dp_fanout {
  const oa_table *set; /* the network's VTEP set, or NULL */
  const dp_group *group;
  size_t pos;
  /** VTEPs in the list. */
  uint32_t n;
} dp_fanout;

/** The whole VTEP set of `net` (broadcast, link-local groups). */
static inline void fanout_all(dp_fanout *f, const dp_network *net) {
  f->set = &net->vteps;
  f->group = NULL;
  f->pos = 0;
  f->n = (uint32_t)net->vteps.count;
}

/** The VTEPs of one group (NULL: none). */
static inline void fanout_group(dp_fanout *f, const dp_group *g) {
  f->set = NULL;
  f->group = g;
  f->pos = 0;
  f->n = g != NULL ? g->n : 0;
}

/** The next VTEP and its counter index: 1, or 0 at the end. */
static inline int fanout_next(dp_fanout *f, const dp_addr **vtep, uint32_t *peer) {
  if (f->set == NULL) {
    if (f->pos >= f->n) return 0;
    const dp_copy_to *c = &f->group->to[f->pos++];
    *vtep = &c->vtep;
    *peer = c->peer;
    return 1;
  }
  const uint8_t *key = oa_next(f->set, &f->pos);
  if (key == NULL) return 0;
  *vtep = (const dp_addr *)key;
  memcpy(peer, key + sizeof(dp_addr) + offsetof(dp_vtep, peer), sizeof *peer);
  return 1;
}

#endif

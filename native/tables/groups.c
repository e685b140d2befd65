/* The group tables of multicast networks; see groups.h. */
#include "tables/groups.h"

#include <errno.h>
#include <stdlib.h>

/* Gives back the counter indexes a list held and frees it. */
static void group_free(dp_group *g, dp_peers *peers) {
  if (g == NULL) return;
  for (uint32_t i = 0; peers != NULL && i < g->n; i++) peers_release(peers, g->to[i].peer);
  free(g);
}

static int holds(const dp_group *g, const dp_addr *vtep) {
  for (uint32_t i = 0; i < g->n; i++)
    if (memcmp(&g->to[i].vtep, vtep, sizeof *vtep) == 0) return 1;
  return 0;
}

/* A new list of the distinct VTEPs of `vteps`, each holding its counter index; NULL when out of memory. */
static dp_group *group_new(dp_peers *peers, const dp_addr *vteps, size_t n) {
  dp_group *g = malloc(sizeof *g + n * sizeof g->to[0]);
  if (g == NULL) return NULL;
  g->n = 0;
  for (size_t i = 0; i < n; i++) {
    if (holds(g, &vteps[i])) continue;
    g->to[g->n].vtep = vteps[i];
    g->to[g->n].peer = peers_acquire(peers, &vteps[i]);
    g->n++;
  }
  return g;
}

int tables_group_set(dp_tables *t, uint32_t vni, const uint8_t mac[6], const dp_addr *vteps, size_t n) {
  if (!(mac[0] & 1)) return -EINVAL;
  int rc = 0;
  tables_write_lock(t);
  dp_network *net = tables_network(t, vni);
  dp_group *g = NULL, *old = NULL;
  if (net == NULL) {
    rc = -ENOENT;
  } else if (n == 0) {
    if (oa_del(&net->groups, mac, &old)) group_free(old, &t->peers);
  } else if ((g = group_new(&t->peers, vteps, n)) == NULL) {
    rc = -ENOMEM;
  } else {
    int put = oa_put(&net->groups, mac, &g, &old);
    if (put < 0) group_free(g, &t->peers), rc = -ENOMEM;
    if (put == 1) group_free(old, &t->peers);
  }
  tables_write_unlock(t);
  return rc;
}

int net_groups_each(dp_tables *t, uint32_t vni, void (*fn)(const uint8_t *mac, const dp_group *g, void *arg), void *arg) {
  dp_network *net = tables_network(t, vni);
  if (net == NULL) return -ENOENT;
  size_t pos = 0;
  for (const uint8_t *mac; (mac = oa_next(&net->groups, &pos)) != NULL;) {
    dp_group *g;
    memcpy(&g, mac + 6, sizeof g);
    fn(mac, g, arg);
  }
  return 0;
}

void net_groups_clear(dp_network *net, dp_peers *peers) {
  size_t pos = 0;
  for (const uint8_t *mac; (mac = oa_next(&net->groups, &pos)) != NULL;) {
    dp_group *g;
    memcpy(&g, mac + 6, sizeof g);
    group_free(g, peers);
  }
  oa_free(&net->groups);
}

/* Remote VTEP indexes and their per-slot counters; see peers.h. */
#include "tables/peers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int peers_init(dp_peers *p, int readers) {
  memset(p, 0, sizeof *p);
  p->counts = calloc((size_t)readers * DP_MAX_PEERS, sizeof *p->counts);
  if (p->counts == NULL) return -ENOMEM;
  p->readers = readers;
  oa_init(&p->index, sizeof(dp_addr), sizeof(uint32_t));
  return 0;
}

void peers_destroy(dp_peers *p) {
  oa_free(&p->index);
  free(p->counts);
  p->counts = NULL;
}

static uint32_t free_index(const dp_peers *p) {
  for (uint32_t i = 0; i < DP_MAX_PEERS; i++)
    if (p->refs[i] == 0) return i;
  return DP_NO_PEER;
}

uint32_t peers_acquire(dp_peers *p, const dp_addr *addr) {
  uint32_t *held = oa_get(&p->index, addr);
  if (held != NULL) {
    p->refs[*held]++;
    return *held;
  }
  uint32_t i = free_index(p);
  if (i == DP_NO_PEER || oa_put(&p->index, addr, &i, NULL) < 0) return DP_NO_PEER;
  p->addrs[i] = *addr;
  p->refs[i] = 1;
  for (int s = 0; s < p->readers; s++) memset(&p->counts[(size_t)s * DP_MAX_PEERS + i], 0, sizeof *p->counts);
  return i;
}

void peers_release(dp_peers *p, uint32_t peer) {
  if (peer == DP_NO_PEER || p->refs[peer] == 0) return;
  if (--p->refs[peer] == 0) oa_del(&p->index, &p->addrs[peer], NULL);
}

void peers_each(const dp_peers *p, void (*fn)(const dp_addr *addr, const dp_peer_counts *sum, void *arg), void *arg) {
  for (uint32_t i = 0; i < DP_MAX_PEERS; i++) {
    if (p->refs[i] == 0) continue;
    dp_peer_counts sum = {0, 0, 0, 0};
    for (int s = 0; s < p->readers; s++) {
      const dp_peer_counts *c = &p->counts[(size_t)s * DP_MAX_PEERS + i];
      sum.tx_packets += c->tx_packets;
      sum.tx_bytes += c->tx_bytes;
      sum.rx_packets += c->rx_packets;
      sum.rx_bytes += c->rx_bytes;
    }
    fn(&p->addrs[i], &sum, arg);
  }
}

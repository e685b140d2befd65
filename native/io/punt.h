/*
 * The punt queue: a bounded multi-producer ring carrying captured frames,
 * VTEP probes and IGMP/MLD membership frames from the workers to JavaScript. A full ring never blocks: the frame is dropped
 * and the producer counts punt_overflow.
 */
#ifndef OVERLAYD_PUNT_H
#define OVERLAYD_PUNT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "tables/tables.h"

#define PUNT_EGRESS 0
#define PUNT_INGRESS 1
/** A VTEP probe for the agent (never a capture). */
#define PUNT_PROBE 2
/** Multicast networks: an IGMP/MLD frame read from the TAP, for the agent's snooping (never a capture). */
#define PUNT_MEMBERSHIP 3

/** Where a captured packet was seen: an inner frame at the TAP, or an outer packet at the underlay socket. */
typedef struct punt_meta {
  uint32_t vni;
  int direction; /* PUNT_EGRESS, PUNT_INGRESS, PUNT_PROBE or PUNT_MEMBERSHIP */
  /** Outer: the bytes are the UDP payload (VXLAN, ESP-in-UDP) or the ESP packet (proto 50) as on the wire. */
  uint8_t outer;
  /** Outer: IP protocol, 17 (UDP) or 50 (ESP); the ports of this host's and the remote socket (UDP). */
  uint8_t proto;
  uint16_t local_port;
  uint16_t remote_port;
} punt_meta;

/** One captured frame or datagram (heap copy; freed by the consumer with punt_item_free). */
typedef struct punt_item {
  punt_meta meta;
  int has_vtep;
  dp_addr vtep;
  size_t len;
  uint8_t *frame;
} punt_item;

typedef struct punt_ring {
  pthread_mutex_t mu;
  punt_item *items;
  size_t cap, head, count;
  /** Called (outside the lock) after a push into an empty ring; wakes the consumer. */
  void (*notify)(void *arg);
  void *notify_arg;
} punt_ring;

int punt_init(punt_ring *r, size_t cap);
void punt_destroy(punt_ring *r);
/** Copies the frame into the ring; 0, or -1 when the ring is full (caller counts punt_overflow). `vtep` is the remote VTEP (NULL: none). */
int punt_push(punt_ring *r, const punt_meta *meta, const dp_addr *vtep, const uint8_t *frame, size_t len);
/** Takes up to `max` items; returns how many. */
size_t punt_pop(punt_ring *r, punt_item *out, size_t max);
void punt_item_free(punt_item *item);

#endif

/*
 * Sampled drop events (docs/debugging.md "events"): where an I/O loop sees a
 * frame dropped by the pipeline, it offers the drop here. Each reason has a
 * token bucket shared by all workers (GCRA: one "theoretical arrival time"
 * per reason, DROP_EVENT_RATE per second, DROP_EVENT_BURST at once); a drop
 * that finds no token only increments its worker's own counter, so a flood
 * of garbage costs a clock read, one shared read-mostly load and a private
 * increment per frame. A drop that gets a token takes the mutex, sums what
 * the workers suppressed since the reason's last event into `suppressed`,
 * and queues a compact record (the first DROP_EVENT_HEAD bytes) into a
 * bounded ring the binding drains. A full ring loses the record (counted)
 * and carries its drop and its suppressed count into the next event, so
 * events + suppressed always add up to the drops offered.
 *
 * Per network, the drops are also counted by reason in the network's own
 * per-worker rows (dp_network.drops), for overlayd_drops_total{network}.
 *
 * This header is what the data path's owner and the binding see; the
 * sampler itself and the workers' inline offer are in drop_sampler.h.
 */
#ifndef OVERLAYD_DROP_EVENTS_H
#define OVERLAYD_DROP_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/counters.h"
#include "tables/tables.h"

/** Events per second per reason, and how many may come at once (the same in src/dataplane/drop-sampler.ts). */
#define DROP_EVENT_RATE 10
#define DROP_EVENT_BURST 10
/** Bytes of the dropped frame or datagram kept in an event. */
#define DROP_EVENT_HEAD 128
/** Bytes kept of an ESP packet: SPI and sequence number (the rest may have been opened in place). */
#define DROP_EVENT_ESP_HEAD 8
/** Events queued for the agent at most. */
#define DROP_EVENT_RING 256

/** What the head bytes are: an inner Ethernet frame (egress), a VXLAN payload or an ESP packet (ingress). */
enum drop_kind { DROP_KIND_FRAME, DROP_KIND_VXLAN, DROP_KIND_ESP };

/** One sampled drop. */
typedef struct drop_event {
  uint8_t reason;
  uint8_t ingress;
  uint8_t kind;
  uint8_t has_vtep;
  /** The network the drop was counted for, when known (vni_known): egress the TAP's, ingress the one the VXLAN header names. */
  uint8_t vni_known;
  uint32_t vni;
  dp_addr vtep;
  /** Drops of this reason not sampled since its previous event (any worker, any network). */
  uint64_t suppressed;
  uint32_t len;
  uint16_t head_len;
  uint8_t head[DROP_EVENT_HEAD];
} drop_event;

/** The sampler (drop_sampler.h); one per data path. */
typedef struct drop_sampler drop_sampler;

/** A new sampler, or NULL when out of memory. */
drop_sampler *drop_sampler_new(void);
void drop_sampler_free(drop_sampler *s);
/** Sets what is called (from a worker) after an event is queued into an empty ring. */
void drop_sampler_notify(drop_sampler *s, void (*notify)(void *arg), void *arg);
/** Takes up to `max` queued events; `*lost` gets the lost total. Returns how many. */
size_t drop_sampler_pop(drop_sampler *s, drop_event *out, size_t max, uint64_t *lost);

#endif

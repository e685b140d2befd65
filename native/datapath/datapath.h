/*
 * One native data path, whole: its tables and SAs, its punt ring, its I/O
 * worker, and the counter block they count into. The C core's composition
 * root — binding/binding_datapath.cc converts JavaScript values and calls
 * these; every decision about lifetimes and descriptors is made here.
 *
 * Counter block: DATAPATH_COUNTER_ROWS rows × DP_COUNTER_SLOTS uint64 owned by
 * the caller; row 0 for the synchronous calls below, then two per worker (one
 * per direction). All functions are called from one thread (the JavaScript
 * thread: reader slot DP_READER_SYNC); the workers only read the tables.
 */
#ifndef OVERLAYD_DATAPATH_H
#define OVERLAYD_DATAPATH_H

#include <stddef.h>
#include <stdint.h>

#include "io/drop_events.h"
#include "io/io.h"
#include "io/punt.h"
#include "pipeline/pipeline.h"
#include "tables/groups.h"
#include "tables/tables.h"

#define DATAPATH_COUNTER_ROWS (1 + IO_COUNTER_ROWS)

typedef struct dp_datapath {
  dp_tables tables;
  punt_ring punt;
  /** Sampled drop events of the workers (drop_events.h). */
  drop_sampler *drops;
  io_config cfg;
  /** The workers and their sockets while started, else NULL. */
  io_ctx *io;
  /** DATAPATH_COUNTER_ROWS × DP_COUNTER_SLOTS. */
  uint64_t *counters;
} dp_datapath;

/** What a synchronous ingress call let through: the network and the inner frame (inside the caller's buffer). */
typedef struct datapath_delivery {
  uint32_t vni;
  uint8_t *frame;
  size_t len;
  /** A VTEP probe: for the agent, not the TAP. */
  int probe;
} datapath_delivery;

/** Prepares a stopped data path for `cfg`, counting into `counters`. 0 or -errno. */
int datapath_init(dp_datapath *dp, const io_config *cfg, uint64_t *counters, size_t punt_capacity);
/** Stops it, closes every TAP it holds and frees everything. */
void datapath_destroy(dp_datapath *dp);

/**
 * Binds the sockets and starts the workers (cfg.workers), worker i reading
 * queue i of every TAP already held; `notify(arg)` is called (from a worker)
 * when captures or drop events are queued. Returns the bound data port, or -errno.
 */
int datapath_start(dp_datapath *dp, void (*notify)(void *arg), void *arg);
/** Stops the workers and closes the sockets; the TAPs stay held. */
void datapath_stop(dp_datapath *dp);

/**
 * Adds network `vni`, or updates its MTU, TAP, encryption (`enc` NULL:
 * plain) and multicast setting (`mc` NULL: off). The data path takes the
 * `queues` descriptors of `tap_fds` (the queues of one TAP, at most
 * DP_MAX_WORKERS; 0: none): TAP queues it replaces are closed, new ones are
 * read by the workers. 0 or -errno.
 */
int datapath_network_set(dp_datapath *dp, uint32_t vni, uint32_t mtu, const int *tap_fds, int queues,
                         const dp_encryption *enc, const dp_multicast *mc);
/** Removes network `vni` with its outbound SAs and closes its TAP queues; 0 or -ENOENT. */
int datapath_network_remove(dp_datapath *dp, uint32_t vni);

/** The outer UDP source port of VXLAN with `flow_hash` (0 while stopped). */
uint16_t datapath_source_port(dp_datapath *dp, uint32_t flow_hash);

/** The drops of network `vni` by reason (DP_NET_DROP_SLOTS, summed over the workers) into `out`; -ENOENT without it. */
int datapath_network_drops(dp_datapath *dp, uint32_t vni, uint64_t *out);

/** FDB entries of network `vni` that point at `vtep` (0: not a VTEP of it, or no such network). */
uint32_t datapath_vtep_refs(dp_datapath *dp, uint32_t vni, const dp_addr *vtep);

/**
 * Egress of one frame of network `vni` on the calling thread (counter row 0,
 * the synchronous cipher slot); `frame` has DP_HEADROOM writable bytes in
 * front and DP_TAILROOM behind. The sink's sa_slot and data_port are filled in here.
 * A traced frame (sink->trace) counts into a scratch block, not row 0.
 */
int datapath_egress(dp_datapath *dp, uint32_t vni, uint8_t *frame, size_t len, const dp_egress_sink *sink);
/** Ingress of one VXLAN datagram on the calling thread; DP_PASS fills `*out`. `trace`: as for egress (NULL: real). */
int datapath_ingress(dp_datapath *dp, const dp_addr *src, uint8_t *payload, size_t len, datapath_delivery *out,
                     dp_trace *trace);
/** dp_esp_trace on the calling thread, counting into a scratch block. */
int datapath_esp_trace(dp_datapath *dp, const dp_addr *src, uint32_t spi, uint8_t *payload, size_t len,
                       datapath_delivery *out, dp_trace *trace);
/**
 * Sends the VTEP probe frame `frame` (`len` bytes) to `vtep` on network
 * `vni` from the calling thread (dp_egress_probe, counter row 0): DP_PASS, or
 * the drop reason (udp_send, after the pipeline's checks and counts, when
 * the data path is stopped or the socket refused).
 */
int datapath_probe_send(dp_datapath *dp, uint32_t vni, const dp_addr *vtep, const uint8_t *frame, size_t len);
/** Calls `fn` with every group of network `vni` and its VTEPs (tables/groups.h); -ENOENT without the network. */
int datapath_groups(dp_datapath *dp, uint32_t vni, void (*fn)(const uint8_t *mac, const dp_group *g, void *arg), void *arg);
/**
 * Writes `frame` into queue 0 of network `vni`'s TAP, with an empty vnet
 * header, from the calling thread (the agent's IGMP/MLD queries). 0;
 * -ENOENT without the network or its TAP; -errno when the write failed
 * (counted tap_write in row 0).
 */
int datapath_inject(dp_datapath *dp, uint32_t vni, const uint8_t *frame, size_t len);
/** Calls `fn` with every remote VTEP's counters, summed over the threads. */
void datapath_peer_counters(dp_datapath *dp, void (*fn)(const dp_addr *addr, const dp_peer_counts *sum, void *arg),
                            void *arg);
/** Ingress of one ESP packet (opened in place) on the calling thread; DP_PASS fills `*out`. */
int datapath_esp_ingress(dp_datapath *dp, const dp_addr *src, uint8_t *packet, size_t len, datapath_delivery *out);

#endif

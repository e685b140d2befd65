/*
 * The per-frame decisions of docs/datapath.md, without I/O — the face the
 * I/O loops (io/) and the binding's synchronous processEgress/processIngress/
 * processEsp see. The stages are listed once, at the top of egress.c and
 * ingress.c; src/dataplane/process.ts has the same stages by the same names.
 *
 * Callers hold the tables' read lock. Every call counts into `counters`
 * (DP_COUNTER_SLOTS, counters.h) and returns DP_PASS or the drop reason.
 */
#ifndef OVERLAYD_PIPELINE_H
#define OVERLAYD_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/counters.h"
#include "pipeline/frame.h"
#include "tables/tables.h"

/** The stages of the two stage lists, in their order (egress.c, then ingress.c), as a trace names them. */
enum dp_stage {
  DP_STAGE_PARSE,
  DP_STAGE_PROXY,
  DP_STAGE_LOOKUP,
  DP_STAGE_SIZE,
  DP_STAGE_ENCAPSULATE,
  DP_STAGE_SEAL,
  DP_STAGE_OPEN,
  DP_STAGE_DECAPSULATE,
  DP_STAGE_ADMIT
};

/**
 * What one traced frame did (`overlayctl trace`, docs/debugging.md). The
 * caller fills `stage`/`verdict` with where a frame ends when nothing stops
 * it (encapsulate; admit) and zeroes the rest; the stage lists overwrite
 * them where a stage decides otherwise — on drop paths, the proxy's answer
 * and before sealing only, so real traffic pays nothing on its way out. The
 * payloads of a traced plain frame reach the sink's send() as usual (the
 * caller's sink collects them: VTEP, flow hash, length). A traced frame is
 * never sealed: the SA is read (spi, next sequence number), its counter
 * untouched.
 */
typedef struct dp_trace {
  /** The stage that decided (enum dp_stage), and DP_PASS or its drop reason. */
  int stage;
  int verdict;
  /** Egress, filled on drops after lookup and before sealing: the FDB's VTEP (has_vtep), the flow hash, the payloads that would go. */
  int has_vtep;
  dp_addr vtep;
  uint32_t flow_hash;
  uint32_t pieces;
  /** Length of the first VXLAN payload (header + frame or first fragment). */
  size_t payload_len;
  /** A frame written back to the TAP (ARP/ND reply, ICMP error): its length. */
  size_t reply_len;
  /** The SA: egress the outbound one (next = the number a seal would use), ingress the inbound one (next = its window's top). */
  int has_sa;
  uint32_t sa_spi;
  uint64_t sa_seq;
  /**
   * Egress of a group frame on a multicast network (has_vteps): its
   * replication list, `nvteps` VTEPs, the first `vteps_cap` of them written
   * to `vteps` (room the caller gives; NULL: none). The trace follows the
   * first VTEP in the order of their text (`vtep`) only: the payloads,
   * `pieces` and the SA are that copy's.
   */
  int has_vteps;
  uint32_t nvteps;
  uint32_t vteps_cap;
  dp_addr *vteps;
} dp_trace;

/** Counts a drop decided by `stage` and, for a traced frame, records it there; returns the reason. */
static inline int dp_drop_at(uint64_t *counters, dp_trace *trace, int stage, int reason) {
  if (trace != NULL) {
    trace->stage = stage;
    trace->verdict = reason;
  }
  return dp_drop(counters, reason);
}

/** Where dp_egress puts what it emits. */
typedef struct dp_egress_sink {
  void *ctx;
  /** A buffer of `len` bytes for a packet built off the frame (a fragment with its room); never NULL. */
  uint8_t *(*buffer)(void *ctx, size_t len);
  /** One VXLAN payload (header + frame) for `vtep`; `payload` is in the frame's headroom or a buffer() result. */
  void (*send)(void *ctx, const dp_addr *vtep, uint32_t flow_hash, uint8_t *payload, size_t len);
  /** One frame to write back into the TAP (ARP/ND reply, ICMP error); valid during the call only. */
  void (*reply)(void *ctx, const uint8_t *frame, size_t len);
  /**
   * One ESP packet (SPI to ICV) for `vtep` on `carrier` (enum dp_carrier);
   * `packet` was sealed in place around the frame or fragment. NULL: ESP
   * cannot be sent (counted udp_send).
   */
  void (*esp_send)(void *ctx, const dp_addr *vtep, uint32_t flow_hash, int carrier, uint8_t *packet, size_t len);
  /** Cipher-context slot of the calling thread (sa_table.h: DP_SA_SLOT_SYNC, or 1 + the worker index). */
  int sa_slot;
  /** The data port: inner UDP destination of sealed VXLAN. */
  uint16_t data_port;
  /** Set for a traced frame (nothing is sealed; payloads still go to send()); NULL for real traffic. */
  dp_trace *trace;
  /** Multicast networks: an IGMP/MLD frame for the agent's membership listener; valid during the call only. */
  void (*membership)(void *ctx, const uint8_t *frame, size_t len);
} dp_egress_sink;

/** An inner frame that passed ingress, for the caller to deliver to its network's TAP. */
typedef struct dp_delivery {
  dp_network *net;
  /** Inside the datagram or packet given to dp_ingress / dp_esp_ingress. */
  uint8_t *frame;
  size_t len;
  /** A VTEP probe (frame.h): for the agent, never for the TAP. */
  int probe;
} dp_delivery;

/**
 * Egress of one frame read from the TAP of `net` (NULL: no such network).
 * `frame` must have DP_HEADROOM writable bytes in front of it and DP_TAILROOM behind it.
 */
int dp_egress(const dp_network *net, uint8_t *frame, size_t len, uint64_t *counters, const dp_egress_sink *sink);

/**
 * Ingress of one datagram from `src` on the data port, by reader `slot` (its
 * per-VTEP counters); on DP_PASS `*out` says where the inner frame goes.
 * `trace` (NULL for real traffic): see dp_trace.
 */
int dp_ingress(dp_tables *tables, const dp_addr *src, uint8_t *payload, size_t len, int slot, uint64_t *counters,
               dp_delivery *out, dp_trace *trace);

/**
 * A VTEP probe frame (frame.h) from the agent to `vtep` on `net`: the egress
 * stages after lookup — the VTEP must be one of the network's (unknown_vtep),
 * its outbound SA on an encrypted network (no_sa), the frame within the MTU
 * (too_big), never fragmented — then encapsulate, seal and the sink's send as
 * for a frame read from the TAP. Counted like one, per VTEP too.
 */
int dp_egress_probe(const dp_network *net, const dp_addr *vtep, uint8_t *frame, size_t len, uint64_t *counters,
                    const dp_egress_sink *sink);

/**
 * A traced ESP packet from `src` under SPI `spi`, carrying the VXLAN payload
 * `payload` in the clear: the open stage finds the inbound SA of (src, spi)
 * and reads its window without opening anything (the window never moves for
 * a trace), then the VXLAN stages run as for a packet it opened.
 */
int dp_esp_trace(dp_tables *tables, const dp_addr *src, uint32_t spi, uint8_t *payload, size_t len,
                 uint64_t *counters, dp_delivery *out, dp_trace *trace);

/**
 * Ingress of one ESP packet (SPI to ICV, opened in place) from `src` on
 * either carrier, with the cipher contexts of `slot`; on DP_PASS `*out` says
 * where the inner frame goes.
 */
int dp_esp_ingress(dp_tables *tables, const dp_addr *src, uint8_t *packet, size_t len, int slot, uint64_t *counters,
                   dp_delivery *out);

#endif

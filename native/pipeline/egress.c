/*
 * The egress pipeline: one frame read from the TAP of a network, stage by
 * stage (docs/datapath.md "Egress"; src/dataplane/process.ts runs the same
 * stages by the same names):
 *
 *   parse        Ethernet, ≤ 2 VLAN tags                              parse.c
 *   proxy        ARP request | neighbour solicitation → reply to TAP  proxy.c
 *   lookup       unicast: FDB → VTEP (→ outbound SA); group frames    lookup.c
 *                dropped, or on a multicast network: IGMP/MLD → the
 *                agent, else the replication list → storm control     lookup.c
 *   size         fits | ICMP too-big to TAP | IPv4 fragments          size.c
 *   encapsulate  VXLAN header into the headroom; tx counted           encapsulate.c
 *   seal         encrypted network: inner UDP header + ESP            seal.c
 *   send         the sink: io/io_egress.c batches, or the binding's list
 *
 * A group frame is sized and encapsulated once, then each VTEP of its list
 * gets a copy (docs/multicast.md "Replication"): plain, the same bytes sent
 * to each; encrypted, a copy per VTEP sealed under its own SA.
 *
 * Stages return DP_PASS or a drop reason and never call one another; this
 * file calls them in order and does all the counting. A traced frame
 * (sink->trace, `overlayctl trace`) runs the same calls; it is recorded on
 * the drop path, by the sink's send(), and before seal, where it stops.
 *
 * A VTEP probe from the agent (dp_egress_probe) has its VTEP already: it
 * joins the list at encapsulate, after the checks lookup and size make.
 */
#include "pipeline/pipeline.h"

#include "base/addr.h"

#include "pipeline/encapsulate.h"
#include "pipeline/lookup.h"
#include "pipeline/parse.h"
#include "pipeline/proxy.h"
#include "pipeline/seal.h"
#include "pipeline/size.h"

#include <string.h>

/** Where the pieces of one frame go once sized: the same VTEP, flow hash and SA for each. */
typedef struct egress_route {
  const dp_network *net;
  const dp_addr *vtep;
  uint32_t peer; /* the VTEP's counter index */
  dp_sa_out *sa; /* NULL: plain VXLAN */
  uint32_t hash;
  uint64_t *counters;
  const dp_egress_sink *sink;
  /** A piece could not be sealed: the SA's sequence numbers ran out, or (group frames) a VTEP had no SA. */
  int exhausted;
  /** A group frame: its replication list (vtep, peer and sa change per copy); NULL: unicast. */
  const dp_fanout *fanout;
} egress_route;

/*
 * A traced payload on an encrypted network: where it goes and the SA it
 * would be sealed with — read, not used (a sequence number taken here would
 * be one the peer never sees), so nothing is sealed or sent. On a plain
 * network a traced payload goes to the sink's send() like any other: the
 * caller's sink only collects it.
 */
__attribute__((cold, noinline)) static void trace_seal(dp_trace *t, const egress_route *r, size_t len) {
  if (t->pieces++ == 0) t->payload_len = len;
  t->has_vtep = 1;
  t->vtep = *r->vtep;
  t->flow_hash = r->hash;
  t->stage = DP_STAGE_SEAL;
  t->verdict = DP_PASS;
  t->has_sa = 1;
  t->sa_seq = sa_out_peek(r->sa, &t->sa_spi);
}

/*
 * encapsulate → seal → send for one VXLAN payload (the frame or a fragment)
 * with its 8 bytes in front. Always inlined: as a call (it has three callers)
 * it cost unicast egress 15 instructions a frame (bench/pipeline-cost.ts).
 */
__attribute__((always_inline)) static inline void emit(egress_route *r, uint8_t *payload, size_t len) {
  const dp_egress_sink *sink = r->sink;
  dp_encapsulate(r->net->vni, payload);
  r->counters[DP_C_TX_PACKETS]++;
  r->counters[DP_C_TX_BYTES] += len;
  if (sink->trace == NULL) peer_count_tx(r->net->peer_counts, sink->sa_slot, r->peer, len);
  if (r->sa == NULL) {
    sink->send(sink->ctx, r->vtep, r->hash, payload, len);
    return;
  }
  if (sink->trace != NULL) {
    trace_seal(sink->trace, r, len);
    return;
  }
  long n = dp_seal(r->sa, sink->sa_slot, sink->data_port, r->hash, payload, len);
  uint8_t *packet = payload - DP_SEAL_HEADROOM;
  if (n < 0) { /* nothing goes out unsealed */
    dp_drop(r->counters, DP_DROP_NO_SA);
    r->exhausted = 1;
  } else if (sink->esp_send == NULL) {
    dp_drop(r->counters, DP_DROP_UDP_SEND);
  } else {
    sink->esp_send(sink->ctx, r->vtep, r->hash, r->net->carrier, packet, (size_t)n);
  }
}

/* A drop by the lookup stage, with the VTEP it found (no_sa: known VTEP, no SA). */
__attribute__((cold, noinline)) static int lookup_drop(uint64_t *counters, dp_trace *trace, const dp_addr *vtep, int reason) {
  if (trace != NULL && vtep != NULL) trace->has_vtep = 1, trace->vtep = *vtep;
  return dp_drop_at(counters, trace, DP_STAGE_LOOKUP, reason);
}

/* A drop by the size stage (too_big, malformed), after any ICMP error went back; a group frame's trace has its VTEP already. */
__attribute__((cold, noinline)) static int size_drop(uint64_t *counters, dp_trace *trace, const dp_addr *vtep, size_t reply_len, int reason) {
  if (trace != NULL) trace->reply_len = reply_len;
  if (trace != NULL && vtep != NULL) trace->has_vtep = 1, trace->vtep = *vtep;
  return dp_drop_at(counters, trace, DP_STAGE_SIZE, reason);
}

/* A copy of a group frame's payload for one more VTEP, in a buffer of its own with the room to be sealed in place. */
static uint8_t *copy_payload(const egress_route *r, const uint8_t *payload, size_t len) {
  uint8_t *copy = r->sink->buffer(r->sink->ctx, DP_SEAL_HEADROOM + len + DP_TAILROOM) + DP_SEAL_HEADROOM;
  memcpy(copy, payload, len);
  return copy;
}

/*
 * One payload of a group frame to every VTEP of its list. Plain: the same
 * bytes to each (the sink keeps them until its batch is flushed). Encrypted:
 * every VTEP seals a copy of its own under its SA, the last one in place; a
 * VTEP without an SA is skipped (no_sa). A traced frame follows the first
 * VTEP of its list (trace_list) only.
 */
static void replicate(egress_route *r, uint8_t *payload, size_t len) {
  dp_trace *trace = r->sink->trace;
  dp_fanout f = *r->fanout;
  uint32_t left = f.n;
  while (fanout_next(&f, &r->vtep, &r->peer)) {
    left--;
    if (trace != NULL && memcmp(r->vtep, &trace->vtep, sizeof trace->vtep) != 0) continue;
    uint8_t *p = payload;
    if (r->net->encrypted) {
      if ((r->sa = net_sa_out(r->net, r->vtep)) == NULL) {
        dp_drop_at(r->counters, trace, DP_STAGE_SEAL, DP_DROP_NO_SA);
        r->exhausted = 1;
        continue;
      }
      if (left > 0 && trace == NULL) p = copy_payload(r, payload, len);
    }
    r->counters[DP_C_MCAST_COPIES]++;
    emit(r, p, len);
  }
}

/* One piece (the frame or a fragment, with its 8 bytes in front) to the route's VTEP, or replicated. */
static inline void send_piece(egress_route *r, uint8_t *payload, size_t len) {
  if (r->fanout != NULL) replicate(r, payload, len);
  else emit(r, payload, len);
}

/* size → encapsulate → seal → send, for a frame whose VTEP (or replication list) is known. */
static int size_and_send(egress_route *r, uint8_t *frame, size_t len, const dp_l2 *l2) {
  const dp_egress_sink *sink = r->sink;
  uint8_t reply[DP_REPLY_MAX];
  size_t reply_len = 0;
  dp_fragmenter pieces;
  int verdict = dp_size(r->net, frame, len, l2, &pieces, reply, &reply_len);
  if (reply_len > 0) {
    r->counters[DP_C_ICMP_ERRORS]++;
    sink->reply(sink->ctx, reply, reply_len);
  }
  if (verdict != DP_PASS) return size_drop(r->counters, sink->trace, r->vtep, reply_len, verdict);
  if (r->fanout != NULL) r->counters[DP_C_MCAST_FRAMES]++;

  r->hash = dp_flow_hash(frame, len, l2);
  if (!pieces.active) {
    send_piece(r, frame - DP_VXLAN_HLEN, DP_VXLAN_HLEN + len);
  } else {
    for (size_t n; (n = dp_fragment_len(&pieces)) > 0;) {
      /* Each fragment gets the room of a frame around it, so it is sealed in place too. */
      uint8_t *payload = sink->buffer(sink->ctx, DP_HEADROOM + n + DP_TAILROOM) + DP_SEAL_HEADROOM;
      dp_fragment_take(&pieces, payload + DP_VXLAN_HLEN);
      r->counters[DP_C_FRAGMENTS]++;
      send_piece(r, payload, DP_VXLAN_HLEN + n);
    }
  }
  /* Exhausted: the frame's verdict is no_sa, already counted for each piece or copy that could not be sealed. */
  return r->exhausted ? DP_DROP_NO_SA : DP_PASS;
}

/* ARP request or neighbour solicitation: the proxy's reply to the TAP, or its drop. */
static int egress_proxy(const dp_network *net, uint8_t *frame, size_t len, const dp_l2 *l2, int arp, uint64_t *counters,
                        const dp_egress_sink *sink) {
  uint8_t reply[DP_REPLY_MAX];
  size_t reply_len = 0;
  int verdict = arp ? dp_proxy_arp(net, frame, len, l2, reply, &reply_len)
                    : dp_proxy_nd(net, frame, len, l2, reply, &reply_len);
  dp_trace *trace = sink->trace;
  if (trace != NULL) trace->stage = DP_STAGE_PROXY, trace->verdict = verdict, trace->reply_len = reply_len;
  if (verdict != DP_PASS) return dp_drop(counters, verdict);
  counters[arp ? DP_C_ARP_REPLIES : DP_C_ND_REPLIES]++;
  sink->reply(sink->ctx, reply, reply_len);
  return DP_PASS;
}

/*
 * The replication list of a traced group frame, and its first VTEP in the
 * order of their canonical text (the one the trace follows, as the reference
 * path does). Cold: real traffic never comes here.
 */
__attribute__((cold, noinline)) static void trace_list(dp_trace *t, const dp_fanout *to) {
  dp_fanout f = *to;
  const dp_addr *vtep;
  uint32_t peer;
  char first[64], text[64];
  t->has_vteps = 1;
  t->nvteps = f.n;
  for (uint32_t i = 0; fanout_next(&f, &vtep, &peer); i++) {
    if (t->vteps != NULL && i < t->vteps_cap) t->vteps[i] = *vtep;
    addr_format(vtep, text, sizeof text);
    if (i > 0 && strcmp(text, first) >= 0) continue;
    memcpy(first, text, sizeof text);
    t->has_vtep = 1;
    t->vtep = *vtep;
  }
}

/* A group frame of a multicast network: membership punt, or replication list → storm control → size → copies. */
static int egress_group(const dp_network *net, uint8_t *frame, size_t len, const dp_l2 *l2, uint64_t *counters,
                        const dp_egress_sink *sink) {
  dp_trace *trace = sink->trace;
  dp_fanout to;
  int verdict = dp_lookup_group(net, frame, len, l2, &to);
  if (verdict == DP_MEMBERSHIP) {
    if (trace != NULL) trace->stage = DP_STAGE_LOOKUP;
    if (sink->membership != NULL) sink->membership(sink->ctx, frame, len);
    return DP_PASS;
  }
  if (trace != NULL) trace_list(trace, &to);
  if (verdict == DP_PASS) verdict = dp_lookup_storm(net, trace != NULL); /* a trace only looks */
  if (verdict != DP_PASS) return dp_drop_at(counters, trace, DP_STAGE_LOOKUP, verdict);
  egress_route route = {net, NULL, DP_NO_PEER, NULL, 0, counters, sink, 0, &to};
  return size_and_send(&route, frame, len, l2);
}

int dp_egress(const dp_network *net, uint8_t *frame, size_t len, uint64_t *counters, const dp_egress_sink *sink) {
  if (net == NULL) return dp_drop_at(counters, sink->trace, DP_STAGE_PARSE, DP_DROP_NO_NETWORK);
  dp_l2 l2;
  int verdict = dp_parse(frame, len, &l2);
  if (verdict != DP_PASS) return dp_drop_at(counters, sink->trace, DP_STAGE_PARSE, verdict);
  int arp = l2.ethertype == DP_ETH_ARP;
  if (arp || dp_parse_is_nd(frame, len, &l2)) return egress_proxy(net, frame, len, &l2, arp, counters, sink);
  if ((frame[0] & 1) && net->multicast) return egress_group(net, frame, len, &l2, counters, sink);

  egress_route route = {net, NULL, DP_NO_PEER, NULL, 0, counters, sink, 0, NULL};
  verdict = dp_lookup(net, frame, &route.vtep, &route.sa);
  if (verdict != DP_PASS) return lookup_drop(counters, sink->trace, route.vtep, verdict);
  route.peer = net_fdb_peer(route.vtep);
  return size_and_send(&route, frame, len, &l2);
}

int dp_egress_probe(const dp_network *net, const dp_addr *vtep, uint8_t *frame, size_t len, uint64_t *counters,
                    const dp_egress_sink *sink) {
  if (net == NULL) return dp_drop(counters, DP_DROP_NO_NETWORK);
  egress_route route = {net, vtep, net_vtep_peer(net, vtep), NULL, 0, counters, sink, 0, NULL};
  if (!net_is_vtep(net, vtep)) return dp_drop(counters, DP_DROP_UNKNOWN_VTEP);
  if (net->encrypted && (route.sa = net_sa_out(net, vtep)) == NULL) return dp_drop(counters, DP_DROP_NO_SA);
  if (len > (size_t)net->mtu + 14) return dp_drop(counters, DP_DROP_TOO_BIG);
  dp_l2 l2;
  if (dp_parse(frame, len, &l2) != DP_PASS) return dp_drop(counters, DP_DROP_MALFORMED);
  route.hash = dp_flow_hash(frame, len, &l2);
  emit(&route, frame - DP_VXLAN_HLEN, DP_VXLAN_HLEN + len);
  return route.exhausted ? DP_DROP_NO_SA : DP_PASS;
}

/*
 * The egress pipeline: one frame read from the TAP of a network, stage by
 * stage (docs/datapath.md "Egress"; src/dataplane/process.ts runs the same
 * stages by the same names):
 *
 *   parse        Ethernet, ≤ 2 VLAN tags                              parse.c
 *   proxy        ARP request | neighbour solicitation → reply to TAP  proxy.c
 *   lookup       group frames dropped → FDB → VTEP (→ outbound SA)    lookup.c
 *   size         fits | ICMP too-big to TAP | IPv4 fragments          size.c
 *   encapsulate  VXLAN header into the headroom; tx counted           encapsulate.c
 *   seal         encrypted network: inner UDP header + ESP            seal.c
 *   send         the sink: io/io_egress.c batches, or the binding's list
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

#include "pipeline/encapsulate.h"
#include "pipeline/lookup.h"
#include "pipeline/parse.h"
#include "pipeline/proxy.h"
#include "pipeline/seal.h"
#include "pipeline/size.h"

/** Where the pieces of one frame go once sized: the same VTEP, flow hash and SA for each. */
typedef struct egress_route {
  const dp_network *net;
  const dp_addr *vtep;
  uint32_t peer; /* the VTEP's counter index */
  dp_sa_out *sa; /* NULL: plain VXLAN */
  uint32_t hash;
  uint64_t *counters;
  const dp_egress_sink *sink;
  /** The SA's sequence numbers ran out on the way (between two fragments). */
  int exhausted;
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

/* encapsulate → seal → send for one VXLAN payload (the frame or a fragment) with its 8 bytes in front. */
static void emit(egress_route *r, uint8_t *payload, size_t len) {
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

/* A drop by the size stage (too_big, malformed), after any ICMP error went back. */
__attribute__((cold, noinline)) static int size_drop(uint64_t *counters, dp_trace *trace, const dp_addr *vtep, size_t reply_len, int reason) {
  if (trace != NULL) trace->reply_len = reply_len, trace->has_vtep = 1, trace->vtep = *vtep;
  return dp_drop_at(counters, trace, DP_STAGE_SIZE, reason);
}

int dp_egress(const dp_network *net, uint8_t *frame, size_t len, uint64_t *counters, const dp_egress_sink *sink) {
  if (net == NULL) return dp_drop_at(counters, sink->trace, DP_STAGE_PARSE, DP_DROP_NO_NETWORK);
  dp_l2 l2;
  int verdict = dp_parse(frame, len, &l2);
  if (verdict != DP_PASS) return dp_drop_at(counters, sink->trace, DP_STAGE_PARSE, verdict);

  uint8_t reply[DP_REPLY_MAX];
  size_t reply_len = 0;
  int arp = l2.ethertype == DP_ETH_ARP;
  if (arp || dp_parse_is_nd(frame, len, &l2)) {
    verdict = arp ? dp_proxy_arp(net, frame, len, &l2, reply, &reply_len)
                  : dp_proxy_nd(net, frame, len, &l2, reply, &reply_len);
    dp_trace *trace = sink->trace;
    if (trace != NULL) trace->stage = DP_STAGE_PROXY, trace->verdict = verdict, trace->reply_len = reply_len;
    if (verdict != DP_PASS) return dp_drop(counters, verdict);
    counters[arp ? DP_C_ARP_REPLIES : DP_C_ND_REPLIES]++;
    sink->reply(sink->ctx, reply, reply_len);
    return DP_PASS;
  }

  egress_route route = {net, NULL, DP_NO_PEER, NULL, 0, counters, sink, 0};
  verdict = dp_lookup(net, frame, &route.vtep, &route.sa);
  if (verdict != DP_PASS) return lookup_drop(counters, sink->trace, route.vtep, verdict);
  route.peer = net_fdb_peer(route.vtep);

  dp_fragmenter pieces;
  verdict = dp_size(net, frame, len, &l2, &pieces, reply, &reply_len);
  if (reply_len > 0) {
    counters[DP_C_ICMP_ERRORS]++;
    sink->reply(sink->ctx, reply, reply_len);
  }
  if (verdict != DP_PASS) return size_drop(counters, sink->trace, route.vtep, reply_len, verdict);

  route.hash = dp_flow_hash(frame, len, &l2);
  if (!pieces.active) {
    emit(&route, frame - DP_VXLAN_HLEN, DP_VXLAN_HLEN + len);
  } else {
    for (size_t n; (n = dp_fragment_len(&pieces)) > 0;) {
      /* Each fragment gets the room of a frame around it, so it is sealed in place too. */
      uint8_t *payload = sink->buffer(sink->ctx, DP_HEADROOM + n + DP_TAILROOM) + DP_SEAL_HEADROOM;
      dp_fragment_take(&pieces, payload + DP_VXLAN_HLEN);
      counters[DP_C_FRAGMENTS]++;
      emit(&route, payload, DP_VXLAN_HLEN + n);
    }
  }
  /* Exhausted: the frame's verdict is no_sa, already counted for each piece that could not be sealed. */
  return route.exhausted ? DP_DROP_NO_SA : DP_PASS;
}

int dp_egress_probe(const dp_network *net, const dp_addr *vtep, uint8_t *frame, size_t len, uint64_t *counters,
                    const dp_egress_sink *sink) {
  if (net == NULL) return dp_drop(counters, DP_DROP_NO_NETWORK);
  egress_route route = {net, vtep, net_vtep_peer(net, vtep), NULL, 0, counters, sink, 0};
  if (!net_is_vtep(net, vtep)) return dp_drop(counters, DP_DROP_UNKNOWN_VTEP);
  if (net->encrypted && (route.sa = net_sa_out(net, vtep)) == NULL) return dp_drop(counters, DP_DROP_NO_SA);
  if (len > (size_t)net->mtu + 14) return dp_drop(counters, DP_DROP_TOO_BIG);
  dp_l2 l2;
  if (dp_parse(frame, len, &l2) != DP_PASS) return dp_drop(counters, DP_DROP_MALFORMED);
  route.hash = dp_flow_hash(frame, len, &l2);
  emit(&route, frame - DP_VXLAN_HLEN, DP_VXLAN_HLEN + len);
  return route.exhausted ? DP_DROP_NO_SA : DP_PASS;
}

/*
 * The ingress pipeline: one datagram from the data port, or one ESP packet
 * from either carrier, stage by stage (docs/datapath.md "Ingress";
 * src/dataplane/process.ts runs the same stages by the same names):
 *
 *   open         ESP only: SA of (source, SPI), window, ICV, inner UDP  open.c
 *   decapsulate  VXLAN header → VNI                                     decapsulate.c
 *   admit        SA's network, joined, no plaintext on an encrypted
 *                network, source a VTEP of it, inner source MAC its own
 *                (not for a VTEP probe); rx counted, also per VTEP
 *                (and mcast_rx for a group frame of a multicast network) admit.c
 *   deliver      the caller: capture, checksums, GRO, TAP (io/io_ingress.c),
 *                or the binding's result; a probe goes to the agent
 *
 * Stages return DP_PASS or a drop reason and never call one another; this
 * file calls them in order and does all the counting. A traced datagram
 * (`trace`, `overlayctl trace --ingress`) runs the same calls and is recorded
 * where a stage drops it; a traced ESP packet (dp_esp_trace) has its SA
 * looked up, never opened, so no window moves for it.
 */
#include "pipeline/pipeline.h"

#include "pipeline/admit.h"
#include "pipeline/decapsulate.h"
#include "pipeline/open.h"

/*
 * decapsulate → admit for a VXLAN payload that came through the SA of
 * `sa_vni` (DP_NO_SA_VNI: plaintext), counted by reader `slot` (not for a trace).
 */
static int vxlan_in(dp_tables *tables, const dp_addr *src, uint8_t *payload, size_t len, int64_t sa_vni, int slot,
                    uint64_t *counters, dp_delivery *out, dp_trace *trace) {
  uint32_t vni = 0;
  int verdict = dp_decapsulate(payload, len, &vni);
  if (verdict != DP_PASS) return dp_drop_at(counters, trace, DP_STAGE_DECAPSULATE, verdict);
  uint8_t *frame = payload + DP_VXLAN_HLEN;
  out->probe = dp_is_probe(frame, len - DP_VXLAN_HLEN);
  uint32_t peer = DP_NO_PEER;
  verdict = dp_admit(tables, src, vni, sa_vni, frame, out->probe, &out->net, &peer);
  if (verdict != DP_PASS) return dp_drop_at(counters, trace, DP_STAGE_ADMIT, verdict);
  out->frame = frame;
  out->len = len - DP_VXLAN_HLEN;
  counters[DP_C_RX_PACKETS]++;
  counters[DP_C_RX_BYTES] += out->len;
  if ((frame[0] & 1) && out->net->multicast) counters[DP_C_MCAST_RX]++; /* delivered, never replicated again */
  if (trace == NULL) peer_count_rx(tables->peers.counts, slot, peer, out->len);
  return DP_PASS;
}

int dp_ingress(dp_tables *tables, const dp_addr *src, uint8_t *payload, size_t len, int slot, uint64_t *counters,
               dp_delivery *out, dp_trace *trace) {
  return vxlan_in(tables, src, payload, len, DP_NO_SA_VNI, slot, counters, out, trace);
}

int dp_esp_ingress(dp_tables *tables, const dp_addr *src, uint8_t *packet, size_t len, int slot, uint64_t *counters,
                   dp_delivery *out) {
  uint8_t *vxlan = NULL;
  size_t vxlan_len = 0;
  uint32_t sa_vni = 0;
  int verdict = dp_open(tables, src, packet, len, slot, &vxlan, &vxlan_len, &sa_vni);
  if (verdict != DP_PASS) return dp_drop(counters, verdict);
  return vxlan_in(tables, src, vxlan, vxlan_len, sa_vni, slot, counters, out, NULL);
}

int dp_esp_trace(dp_tables *tables, const dp_addr *src, uint32_t spi, uint8_t *payload, size_t len,
                 uint64_t *counters, dp_delivery *out, dp_trace *trace) {
  dp_sa_in *sa = tables_sa_in(tables, src, spi);
  if (sa == NULL) return dp_drop_at(counters, trace, DP_STAGE_OPEN, DP_DROP_ESP_BAD_SPI);
  trace->has_sa = 1;
  trace->sa_spi = spi;
  trace->sa_seq = sa_in_top(sa);
  return vxlan_in(tables, src, payload, len, sa_in_vni(sa), DP_READER_SYNC, counters, out, trace);
}

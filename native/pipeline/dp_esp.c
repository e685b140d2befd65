/*
 * The encrypted half of the per-frame decisions (docs/datapath.md
 * "Encrypted networks"); mirrors the ESP parts of src/dataplane/process.ts.
 *
 *   egress   FDB hit → outbound SA (else no_sa) → the plain steps 7–8 with a
 *            sink that turns each VXLAN payload into UDP header + payload,
 *            sealed out of place into sink->buffer() with next header 17
 *   ingress  (source, SPI) → esp_open (window, ICV, padding) → inner UDP
 *            header → the VXLAN steps, the VNI being the SA's network
 */
#include <string.h>

#include "base/csum.h"
#include "pipeline/dp_internal.h"
#include "esp/esp.h"
#include "esp/sa_table.h"

#define UDP_HLEN 8
/** Inner UDP source ports of encrypted traffic: 49152 + flowHash mod 16384. */
#define ESP_SPORT_BASE 49152u
#define ESP_SPORT_RANGE 16384u

/** The sink dp_egress_encap() writes to on an encrypted network: seals, then hands on. */
typedef struct sealing_sink {
  const dp_egress_sink *outer;
  dp_sa_out *sa;
  int carrier;
  uint64_t *counters;
  /** Set when the SA's sequence numbers ran out between two fragments. */
  int exhausted;
} sealing_sink;

static uint8_t *sealing_buffer(void *ctx, size_t len) {
  const dp_egress_sink *outer = ((sealing_sink *)ctx)->outer;
  return outer->buffer(outer->ctx, len);
}

static void sealing_reply(void *ctx, const uint8_t *frame, size_t len) {
  const dp_egress_sink *outer = ((sealing_sink *)ctx)->outer;
  outer->reply(outer->ctx, frame, len);
}

/* One VXLAN payload (tx already counted): UDP header + payload, sealed into a new buffer. */
static void sealing_send(void *ctx, const dp_addr *vtep, uint32_t hash, uint8_t *payload, size_t len) {
  sealing_sink *s = ctx;
  const dp_egress_sink *outer = s->outer;
  size_t plen = UDP_HLEN + len;
  size_t cap = esp_sealed_len(plen);
  uint8_t *packet = outer->buffer(outer->ctx, cap);
  uint8_t *udp = packet + ESP_PREFIX_LEN;
  wr16(udp, (uint16_t)(ESP_SPORT_BASE + hash % ESP_SPORT_RANGE));
  wr16(udp + 2, outer->data_port);
  wr16(udp + 4, (uint16_t)plen);
  wr16(udp + 6, 0); /* the ICV covers every byte (RFC 6935) */
  memmove(udp + UDP_HLEN, payload, len);
  long n = sa_out_seal(s->sa, outer->sa_slot, udp, plen, ESP_NEXT_HEADER_UDP, packet, cap);
  if (n < 0) {
    /* Only a sequence space exhausted mid-frame gets here: nothing goes out unsealed. */
    dp_drop(s->counters, DP_DROP_NO_SA);
    s->exhausted = 1;
    return;
  }
  if (outer->esp_send == NULL) {
    dp_drop(s->counters, DP_DROP_UDP_SEND);
    return;
  }
  outer->esp_send(outer->ctx, vtep, hash, s->carrier, packet, (size_t)n);
}

int dp_egress_encrypted(const dp_network *net, const dp_addr *vtep, uint8_t *frame, size_t len, const dp_l2 *l2,
                        uint64_t *counters, const dp_egress_sink *sink) {
  dp_sa_out *sa = net_sa_out(net, vtep);
  if (sa == NULL) return dp_drop(counters, DP_DROP_NO_SA);
  sealing_sink state = {sink, sa, net->carrier, counters, 0};
  dp_egress_sink sealing = *sink;
  sealing.ctx = &state;
  sealing.buffer = sealing_buffer;
  sealing.send = sealing_send;
  sealing.reply = sealing_reply;
  int verdict = dp_egress_encap(net, vtep, frame, len, l2, counters, &sealing);
  /* The frame's verdict is no_sa (already counted per fragment) when the counter ran out on the way. */
  return verdict == DP_PASS && state.exhausted ? DP_DROP_NO_SA : verdict;
}

int dp_esp_ingress(dp_tables *tables, const dp_addr *src, uint8_t *packet, size_t len, int slot, uint64_t *counters,
                   dp_network **net_out, uint8_t **frame, size_t *frame_len) {
  if (len < 4) return dp_drop(counters, DP_DROP_ESP_TRUNCATED);
  dp_sa_in *sa = tables_sa_in(tables, src, rd32(packet));
  if (sa == NULL) return dp_drop(counters, DP_DROP_ESP_BAD_SPI);
  uint8_t next_header = 0;
  uint8_t *udp = packet + ESP_PREFIX_LEN;
  long n = sa_in_open(sa, slot, packet, len, udp, &next_header);
  if (n < 0) return dp_drop(counters, DP_DROP_ESP_TRUNCATED + (int)(-n - 1));
  size_t ulen = (size_t)n;
  if (next_header != ESP_NEXT_HEADER_UDP || ulen < UDP_HLEN || rd16(udp + 4) != ulen ||
      rd16(udp + 2) != tables->data_port)
    return dp_drop(counters, DP_DROP_MALFORMED);
  uint8_t *vxlan = udp + UDP_HLEN;
  int verdict = dp_vxlan_in(tables, src, vxlan, ulen - UDP_HLEN, sa_in_vni(sa), counters, net_out);
  if (verdict != DP_PASS) return verdict;
  *frame = vxlan + DP_VXLAN_HLEN;
  *frame_len = ulen - UDP_HLEN - DP_VXLAN_HLEN;
  return DP_PASS;
}

/* Capture filters and copies of the I/O loops; see capture.h. */
#include "io/capture.h"

#include <string.h>

#include "base/csum.h"
#include "esp/sa_table.h"
#include "pipeline/counters.h"

#define TPID_8021Q 0x8100
#define TPID_8021AD 0x88a8

static int addr_is(const dp_addr *a, uint8_t family, const uint8_t *bytes) {
  return a->family == family && memcmp(a->b, bytes, family == 4 ? 4 : 16) == 0;
}

/* The walk of pipeline/parse.c's dp_parse, which io/ may not call (only the stage lists call stages). */
int capture_host_match(const dp_capture *c, const uint8_t *frame, size_t len) {
  if (!c->has_host) return 1;
  if (len < 14) return 0;
  size_t off = 12;
  uint16_t type = rd16(frame + off);
  for (int tags = 0; tags < 2 && (type == TPID_8021Q || type == TPID_8021AD) && off + 6 <= len; tags++) {
    off += 4;
    type = rd16(frame + off);
  }
  const uint8_t *l3 = frame + off + 2;
  size_t l3len = len - off - 2;
  const dp_addr *h = &c->host;
  if (type == 0x0800 && l3len >= 20) return addr_is(h, 4, l3 + 12) || addr_is(h, 4, l3 + 16);
  if (type == 0x86dd && l3len >= 40) return addr_is(h, 6, l3 + 8) || addr_is(h, 6, l3 + 24);
  if (type == 0x0806 && l3len >= 28) return addr_is(h, 4, l3 + 14) || addr_is(h, 4, l3 + 24);
  return 0;
}

int capture_vtep_match(const dp_capture *c, const dp_addr *vtep) {
  if (!c->has_vtep) return 1;
  return vtep != NULL && memcmp(vtep, &c->vtep, sizeof *vtep) == 0;
}

void capture_push(punt_ring *r, uint64_t *counters, const punt_meta *m, const dp_addr *vtep, const uint8_t *data, size_t len) {
  if (punt_push(r, m, vtep, data, len) < 0) counters[DP_C_DROPS + DP_DROP_PUNT_OVERFLOW]++;
}

const dp_network *capture_ingress_network(dp_tables *t, const dp_addr *src, const uint8_t *data, size_t len, int esp) {
  const dp_network *net = NULL;
  if (esp && len >= 4) {
    const dp_sa_in *sa = tables_sa_in(t, src, rd32(data));
    if (sa != NULL) net = tables_network(t, sa_in_vni(sa));
  } else if (!esp && len >= 8) {
    net = tables_network(t, (uint32_t)data[4] << 16 | (uint32_t)data[5] << 8 | data[6]);
  }
  return net != NULL && net->capture.outer && capture_vtep_match(&net->capture, src) ? net : NULL;
}

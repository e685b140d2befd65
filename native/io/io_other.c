/* I/O stub for platforms without the Linux loops: the addon loads, start() reports unsupported. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "io/io.h"

#ifndef ENOTSUP
#define ENOTSUP 95
#endif

int io_supported(void) { return 0; }

io_ctx *io_start(dp_tables *tables, const io_config *cfg, uint64_t *rows, punt_ring *punt, drop_sampler *drops,
                 int *err) {
  (void)tables;
  (void)cfg;
  (void)rows;
  (void)punt;
  (void)drops;
  *err = -ENOTSUP;
  return NULL;
}

void io_stop(io_ctx *io) { (void)io; }

int io_tap_add(io_ctx *io, uint32_t vni, int fd) {
  (void)io;
  (void)vni;
  (void)fd;
  return -ENOTSUP;
}

void io_tap_remove(io_ctx *io, int fd) {
  (void)io;
  (void)fd;
}

int io_send(io_ctx *io, const dp_addr *vtep, uint32_t flow_hash, int carrier, const uint8_t *packet, size_t len) {
  (void)io, (void)vtep, (void)flow_hash, (void)carrier, (void)packet, (void)len;
  return -ENOTSUP;
}

void io_get_offload_stats(const io_ctx *io, io_offload_stats *out) {
  (void)io;
  memset(out, 0, sizeof *out);
}

uint16_t io_data_port(const io_ctx *io) {
  (void)io;
  return 0;
}

uint16_t io_source_port(const io_ctx *io, uint32_t flow_hash) {
  (void)io;
  (void)flow_hash;
  return 0;
}

uint16_t io_esp_port(const io_ctx *io) {
  (void)io;
  return 0;
}

int io_esp_raw(const io_ctx *io) {
  (void)io;
  return 0;
}

/*
 * Ingress stage "open" (ESP on either carrier): the inbound SA of (source,
 * SPI), then esp_open — window, ICV, padding — in place, then the inner UDP
 * header, which must be next header 17, exactly as long as the payload, and
 * addressed to the data port.
 */
#ifndef OVERLAYD_PIPELINE_OPEN_H
#define OVERLAYD_PIPELINE_OPEN_H

#include "esp/sa_table.h"
#include "pipeline/frame.h"
#include "tables/tables.h"

/**
 * Opens `packet` (SPI to ICV, `len` bytes, decrypted in place) with the cipher
 * contexts of `slot`. DP_PASS with the VXLAN payload in `*vxlan` /
 * `*vxlan_len` and the SA's network in `*sa_vni`; otherwise esp_truncated,
 * esp_bad_spi, the esp_open reason, or malformed (inner UDP header).
 */
int dp_open(dp_tables *tables, const dp_addr *src, uint8_t *packet, size_t len, int slot, uint8_t **vxlan,
            size_t *vxlan_len, uint32_t *sa_vni);

#endif

/*
 * Egress stage "seal" (encrypted networks, docs/datapath.md "Encrypted
 * networks"): a VXLAN payload gets the inner UDP header (source 49152 +
 * flowHash mod 16384, destination the data port, checksum 0) and is sealed
 * as ESP with the outbound SA's next sequence number, next header 17.
 */
#ifndef OVERLAYD_PIPELINE_SEAL_H
#define OVERLAYD_PIPELINE_SEAL_H

#include "esp/sa_table.h"
#include "pipeline/frame.h"

/** Bytes dp_seal() needs for a VXLAN payload of `len` bytes (SPI to ICV). */
size_t dp_seal_capacity(size_t len);
/**
 * Seals the VXLAN payload `payload` (`len` bytes) into `packet` (`cap` ≥
 * dp_seal_capacity(len)) with the cipher contexts of `slot`. Returns the ESP
 * packet's length, or −1 when the SA's sequence numbers ran out (no_sa).
 */
long dp_seal(dp_sa_out *sa, int slot, uint16_t data_port, uint32_t flow_hash, const uint8_t *payload, size_t len,
             uint8_t *packet, size_t cap);

#endif

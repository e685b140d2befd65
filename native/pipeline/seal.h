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

/**
 * Seals the VXLAN payload `payload` (`len` bytes) where it lies, with the
 * cipher contexts of `slot`: the inner UDP header, ESP header and IV go into
 * the DP_SEAL_HEADROOM bytes in front of it, padding, trailer and ICV into
 * the DP_TAILROOM bytes behind it; nothing is copied. The ESP packet starts
 * at payload − DP_SEAL_HEADROOM. Returns its length, or −1 when the SA's
 * sequence numbers ran out (no_sa).
 */
long dp_seal(dp_sa_out *sa, int slot, uint16_t data_port, uint32_t flow_hash, uint8_t *payload, size_t len);

#endif

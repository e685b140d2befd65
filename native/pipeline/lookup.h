/*
 * Egress stage "lookup": where a unicast frame goes. Group frames are dropped
 * (nothing is flooded), the FDB gives the VTEP, and on an encrypted network
 * the outbound SA toward it must exist — decided here, before any byte is
 * built, so nothing leaves in plaintext.
 */
#ifndef OVERLAYD_PIPELINE_LOOKUP_H
#define OVERLAYD_PIPELINE_LOOKUP_H

#include "esp/sa_table.h"
#include "pipeline/frame.h"
#include "tables/tables.h"

/**
 * DP_PASS with `*vtep` (and `*sa` on an encrypted network, else NULL), or
 * broadcast / multicast / no_fdb / no_sa.
 */
int dp_lookup(const dp_network *net, const uint8_t *frame, const dp_addr **vtep, dp_sa_out **sa);

#endif

/* Ingress stage "decapsulate": the VXLAN header of a datagram (RFC 7348). */
#ifndef OVERLAYD_PIPELINE_DECAPSULATE_H
#define OVERLAYD_PIPELINE_DECAPSULATE_H

#include "pipeline/frame.h"

/** DP_PASS with the header's VNI in `*vni` (the frame follows the 8 bytes), or malformed / bad_vxlan. */
int dp_decapsulate(const uint8_t *payload, size_t len, uint32_t *vni);

#endif

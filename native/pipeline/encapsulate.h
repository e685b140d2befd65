/* Egress stage "encapsulate": the VXLAN header (RFC 7348: I flag, 24-bit VNI) in front of a frame. */
#ifndef OVERLAYD_PIPELINE_ENCAPSULATE_H
#define OVERLAYD_PIPELINE_ENCAPSULATE_H

#include "pipeline/frame.h"

/** Writes the VXLAN header of `vni` in the DP_VXLAN_HLEN bytes at `payload` (the frame follows). */
void dp_encapsulate(uint32_t vni, uint8_t *payload);

#endif

/*
 * Ingress stage "admit": whether a decapsulated frame may enter a network of
 * this host. Checked in this order: it came through an SA of that network
 * (ESP), the network is joined, an encrypted network takes nothing in
 * plaintext, the source is a VTEP of the network, and the inner source MAC
 * belongs to that VTEP in the FDB.
 */
#ifndef OVERLAYD_PIPELINE_ADMIT_H
#define OVERLAYD_PIPELINE_ADMIT_H

#include "pipeline/frame.h"
#include "tables/tables.h"

/** No SA: the datagram arrived in plaintext on the data port. */
#define DP_NO_SA_VNI (-1)

/**
 * DP_PASS with the network in `*net` and the source VTEP's counter index in
 * `*peer`, or esp_wrong_vni / unknown_vni / plaintext_on_encrypted /
 * unknown_vtep / spoofed_src. `sa_vni` is the network of the SA the frame
 * came through, or DP_NO_SA_VNI. A VTEP probe (`probe`) speaks for no
 * endpoint: it is admitted without the source MAC check.
 */
int dp_admit(dp_tables *tables, const dp_addr *src, uint32_t vni, int64_t sa_vni, const uint8_t *frame, int probe,
             dp_network **net, uint32_t *peer);

#endif

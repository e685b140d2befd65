/*
 * Capture in the I/O loops (`overlayctl capture`, docs/debugging.md): which
 * packets a network's capture (dp_capture) takes, and their copy into the
 * punt queue. Inner mode mirrors the frames at the TAP; outer mode the
 * packets as the sockets sent and received them — the VXLAN or ESP-in-UDP
 * payload with its real ports, or the ESP packet of IP protocol 50 — one per
 * datagram on the wire (a GSO train is captured datagram by datagram, a GRO
 * buffer after its split). Nothing here runs while no capture is on: egress
 * tests the network's flags per frame, ingress the tables' `capturing` count
 * per burst.
 */
#ifndef OVERLAYD_IO_CAPTURE_H
#define OVERLAYD_IO_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "io/punt.h"
#include "tables/tables.h"

/** Whether the inner frame's IPv4/IPv6 source or destination (ARP: sender or target) is the capture's host; always true without a host filter. */
int capture_host_match(const dp_capture *c, const uint8_t *frame, size_t len);
/** Whether `vtep` is the capture's VTEP; always true without a VTEP filter, never for NULL with one. */
int capture_vtep_match(const dp_capture *c, const dp_addr *vtep);
/** Copies one captured packet into the punt queue; a full queue counts punt_overflow into `counters`. */
void capture_push(punt_ring *r, uint64_t *counters, const punt_meta *m, const dp_addr *vtep, const uint8_t *data, size_t len);
/**
 * The network of a received packet when that network captures outer packets
 * from `src`: plain VXLAN by its VNI, ESP (`esp`) by the inbound SA of (src,
 * SPI). NULL otherwise. Caller holds the tables' read lock.
 */
const dp_network *capture_ingress_network(dp_tables *t, const dp_addr *src, const uint8_t *data, size_t len, int esp);

#endif

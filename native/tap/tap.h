/*
 * TAP devices: open (creating if missing, re-attaching if it exists) a layer-2
 * tunnel device. Linux: /dev/net/tun; elsewhere every call returns -ENOTSUP.
 */
#ifndef OVERLAYD_TAP_H
#define OVERLAYD_TAP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Every read and write carries a struct virtio_net_hdr in front (offloads on). */
#define TAP_OPT_VNET_HDR 0x1
/** The device outlives the descriptor (TUNSETPERSIST). */
#define TAP_OPT_PERSIST 0x2
/** O_NONBLOCK on the returned descriptor. */
#define TAP_OPT_NONBLOCK 0x4
/* With TAP_OPT_VNET_HDR: no UDP segmentation offload, even where the kernel has it. */
#define TAP_OPT_NO_USO 0x8

/** Size of the virtio_net_hdr used when TAP_OPT_VNET_HDR is set. */
#define TAP_VNET_HDR_LEN 10

/** Most queues tap_open_queues() opens. */
#define TAP_MAX_QUEUES 16

/** Transmit queue length set on TAPs opened with TAP_OPT_VNET_HDR. */
#define TAP_FAST_TXQUEUELEN 1000

/** Whether this platform has TAP support compiled in. */
int tap_supported(void);

/**
 * Opens the TAP device `name` (at most 15 bytes) with TAP_OPT_* `opts`.
 * Returns the descriptor, or -errno. With TAP_OPT_VNET_HDR the checksum and
 * TSO4/TSO6 offloads are enabled, so reads may return 64 KB TCP super-frames,
 * and the transmit queue is set to TAP_FAST_TXQUEUELEN.
 */
int tap_open(const char *name, int opts);

/**
 * Opens up to `n` queues of the multi-queue TAP `name` (IFF_MULTI_QUEUE; at
 * most TAP_MAX_QUEUES), each a descriptor as tap_open() makes, into `fds`; the kernel
 * spreads the frames the device transmits over the queues by flow. A
 * persistent TAP made single-queue (by an older agent or the JavaScript
 * path) cannot take more queues: it is opened as it is, one queue. Returns
 * how many were opened, or -errno (nothing left open).
 */
int tap_open_queues(const char *name, int opts, int n, int *fds);

/** Sets the device's transmit queue length; 0 or -errno. */
int tap_set_txqueuelen(const char *name, int len);

/**
 * Whether TAPs opened with a vnet header take UDP segmentation offload
 * (TUN_F_USO4/6, Linux 6.2+): they may then be read UDP_L4 super-frames, and
 * written them. Known once such a TAP was opened; 0 before.
 */
int tap_uso_enabled(void);

#ifdef __cplusplus
}
#endif

#endif

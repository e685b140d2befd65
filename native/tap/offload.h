/*
 * TAP offloads (virtio_net_hdr): completing partial checksums, cutting GSO
 * super-frames (TCP, UDP) into MSS-sized segments (egress), and coalescing
 * in-order TCP segments, or equal-sized UDP datagrams, of one flow into one
 * super-frame (ingress). Pure byte work, no I/O.
 */
#ifndef OVERLAYD_OFFLOAD_H
#define OVERLAYD_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/** The 10-byte header in front of every TAP read/write in vnet mode (host byte order). */
typedef struct vnet_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
} vnet_hdr;

#define VNET_F_NEEDS_CSUM 1
#define VNET_GSO_NONE 0
#define VNET_GSO_TCPV4 1
#define VNET_GSO_TCPV6 4
#define VNET_GSO_UDP_L4 5
#define VNET_GSO_ECN 0x80

/** Most segments one coalesced frame or one UDP GSO send carries. */
#define OFFLOAD_MAX_SEGMENTS 64

/** Completes a partial checksum: sums [csum_start, len) (field pre-seeded) into csum_start + csum_offset. 0 or -1. */
int offload_complete_csum(uint8_t *frame, size_t len, uint16_t csum_start, uint16_t csum_offset);

/** Called per segment, in order; `seg` has `headroom` writable bytes in front and `tailroom` behind. */
typedef void (*tso_emit_fn)(void *ctx, uint8_t *seg, size_t len);

/**
 * Cuts the GSO super-frame `frame` (vnet header `h`: TCPV4/6, or UDP_L4, a
 * sender's UDP_SEGMENT) into segments of at most h->gso_size payload bytes,
 * laid out back to back at `out` as
 * [headroom][segment][tailroom][headroom][segment][tailroom]... so each is
 * encapsulated (and sealed) where it lies. Fixes IP length/ID/checksum per
 * segment, and TCP seq/flags/checksum or UDP length/checksum. Returns the
 * bytes of `out` used, or -1 when the frame is not a well-formed super-frame
 * of its type or does not fit in `cap`.
 */
long gso_segment(const uint8_t *frame, size_t len, const vnet_hdr *h, uint8_t *out, size_t cap, size_t headroom,
                 size_t tailroom, tso_emit_fn emit, void *ctx);

/** State of a frame's TCP/UDP checksum (offload_l4_csum). */
enum l4_csum_state {
  L4_CSUM_NONE,    /* not untagged TCP/UDP over IPv4/IPv6 (or UDP without checksum): nothing to say */
  L4_CSUM_VALID,   /* complete and correct */
  L4_CSUM_PARTIAL, /* only the pseudo-header sum: the sender offloaded it (local veth), no wire ever did */
  L4_CSUM_BAD      /* wrong: let the kernel see it and drop it */
};

/**
 * Checks the TCP/UDP checksum of an untagged IPv4 (not fragmented) or IPv6
 * (no extension headers) frame. On L4_CSUM_PARTIAL, `*csum_start` and
 * `*csum_offset` say where the checksum goes (virtio_net_hdr convention).
 */
int offload_l4_csum(const uint8_t *frame, size_t len, uint16_t *csum_start, uint16_t *csum_offset);

/**
 * Prepares an oversize TCP or UDP frame (larger than one MTU: a kernel
 * sender's tunnel GSO arrives whole, one VXLAN header in front of a
 * super-frame) to be written to a TAP as a GSO frame: fills `h` (NEEDS_CSUM;
 * GSO_TCPV4/6 with segments of `mtu`, or GSO_UDP_L4 with the sender's
 * datagram size `udp_gso_size`, which its UDP_GRO cmsg said) and seeds the
 * checksum with the pseudo-header sum (UDP: its length set to the whole).
 * Returns 0, or -1 when the frame is neither, or UDP without a size.
 */
int offload_gso_hdr(uint8_t *frame, size_t len, size_t mtu, uint16_t udp_gso_size, vnet_hdr *h);

/** Whether the untagged Ethernet frame's IP header gives exactly `len` as the frame's length (a whole super-frame's does). */
int offload_spans(const uint8_t *frame, size_t len);

/**
 * An ingress super-frame being built from in-order TCP segments of one flow,
 * or (with `udp`) from UDP datagrams of one flow: equal payload sizes (the
 * last may be shorter) and, over IPv4, consecutive IDs, so that the kernel's
 * segmentation gives back exactly the frames that came. Only the head's
 * headers are copied (into `buf`, after room for the vnet header); payloads
 * stay where they were received and are gathered by `iov` — valid until the
 * receive buffers are reused, so finish the run before that.
 */
typedef struct gro_run {
  uint8_t *buf;   /* [vnet_hdr][head's headers], capacity GRO_BUF_LEN */
  struct iovec iov[OFFLOAD_MAX_SEGMENTS + 1]; /* [0] = buf, then one payload per segment */
  int iovcnt;
  size_t len;     /* frame bytes after the vnet header */
  void *owner;    /* which TAP/network it goes to (caller's tag) */
  size_t l3off, l4off, hdr_len;
  int ipv6;
  int segs;
  int closed;     /* a short or PSH segment ended the run */
  int partial;    /* the head's checksum is partial (matters when it stays alone) */
  int udp;        /* set by the owner: UDP runs too (the TAP takes UDP GSO writes) */
  uint8_t proto;  /* 6 (TCP) or 17 (UDP) */
  uint16_t mss;
  uint16_t next_id;  /* over IPv4: the IP ID the next segment must have */
  uint32_t next_seq; /* TCP: the sequence number the next segment must have */
} gro_run;

/** Room for the vnet header and the largest Ethernet + IP + TCP headers. */
#define GRO_BUF_LEN (sizeof(vnet_hdr) + 14 + 60 + 60)

/**
 * Starts a run with `frame` if it is a coalescable TCP segment (or, with
 * run->udp, UDP datagram) whose checksum state `csum` (offload_l4_csum) is
 * VALID or PARTIAL; 1 if started, 0 if not.
 */
int gro_start(gro_run *run, void *owner, const uint8_t *frame, size_t len, int csum);
/** Appends `frame` (checksum state `csum`) if it continues the run (same flow and headers, next sequence or IP ID); 1 if appended. */
int gro_append(gro_run *run, void *owner, const uint8_t *frame, size_t len, int csum);
/** Finalises headers and the vnet header; returns the iovec count to write (run->iov: vnet header + frame). */
int gro_finish(gro_run *run);

#endif

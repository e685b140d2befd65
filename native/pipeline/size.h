/*
 * Egress stage "size" (docs/datapath.md step 7): a frame larger than
 * maxFrame (MTU + 14) is answered with ICMP "fragmentation needed" / ICMPv6
 * "packet too big", or — IPv4 without DF — cut into fragments. The
 * fragmenter is an iterator: the stage list asks for each piece's length,
 * gives it a buffer and encapsulates the piece itself.
 */
#ifndef OVERLAYD_PIPELINE_SIZE_H
#define OVERLAYD_PIPELINE_SIZE_H

#include "pipeline/frame.h"
#include "tables/tables.h"

/** Cuts one IPv4 packet into fragments, one piece per dp_fragment_take(). */
typedef struct dp_fragmenter {
  const uint8_t *frame;
  size_t l3off;
  size_t hlen;      /* header of the first piece: the whole original header */
  size_t later_len; /* options copied into later pieces, padded */
  size_t l3max;
  size_t data_len;
  size_t done;
  uint16_t frag_offset;
  uint16_t last_mf;    /* MF of the last piece: the original's */
  uint16_t kept_flags; /* the reserved bit travels */
  uint8_t first;
  uint8_t active; /* pieces remain */
  uint8_t later_options[40];
} dp_fragmenter;

/**
 * Decides what `frame` becomes on `net`. DP_PASS: it goes whole (`f` inactive)
 * or in the pieces of `f`; otherwise too_big or malformed. `*reply_len` > 0
 * when an ICMP error for the sender was built in `reply`.
 */
int dp_size(const dp_network *net, const uint8_t *frame, size_t len, const dp_l2 *l2, dp_fragmenter *f,
            uint8_t reply[DP_REPLY_MAX], size_t *reply_len);
/** Length of the next piece (Ethernet + IPv4 header + data); 0 when every piece was taken. */
size_t dp_fragment_len(const dp_fragmenter *f);
/** Writes the next piece (dp_fragment_len() bytes) at `piece` and moves on. */
void dp_fragment_take(dp_fragmenter *f, uint8_t *piece);

#endif

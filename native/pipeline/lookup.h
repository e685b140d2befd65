/*
 * Egress stage "lookup": where a frame goes.
 *
 * A unicast frame: the FDB gives the VTEP, and on an encrypted network the
 * outbound SA toward it must exist — decided here, before any byte is built,
 * so nothing leaves in plaintext. A group frame (destination MAC with the
 * group bit) is dropped on a network without multicast (nothing is flooded).
 *
 * A group frame on a multicast network: which VTEPs get a copy, by the rules
 * of docs/multicast.md (src/dataplane/multicast/settings.ts), and the storm
 * control that bounds the replicated frames. ARP and neighbour discovery
 * never get here: the proxy answered them before.
 *
 *   1. IGMP, or MLD (after any hop-by-hop header) → the membership listener
 *   3. broadcast, 224.0.0.0/24, ff02::/16 but solicited-node → every VTEP
 *   4. solicited-node, not ND → nobody (multicast)
 *   5. any other group MAC → the group table's VTEPs (none: multicast)
 */
#ifndef OVERLAYD_PIPELINE_LOOKUP_H
#define OVERLAYD_PIPELINE_LOOKUP_H

#include "esp/sa_table.h"
#include "pipeline/frame.h"
#include "tables/groups.h"
#include "tables/tables.h"

/**
 * DP_PASS with `*vtep` (and `*sa` on an encrypted network, else NULL), or
 * broadcast / multicast / no_fdb / no_sa.
 */
int dp_lookup(const dp_network *net, const uint8_t *frame, const dp_addr **vtep, dp_sa_out **sa);

/** Not a drop: the frame is an IGMP/MLD message for the agent (rule 1), never sent. */
#define DP_MEMBERSHIP (-2)

/**
 * Rules 1–5 for the group frame `frame` of the multicast network `net`:
 * DP_PASS with the replication list in `*to` (at least one VTEP),
 * DP_MEMBERSHIP, or multicast (rule 4, or an empty list; `*to` is then set
 * and empty).
 */
int dp_lookup_group(const dp_network *net, const uint8_t *frame, size_t len, const dp_l2 *l2, dp_fanout *to);

/** Storm control: one token of the network's bucket (`look`: a traced frame only looks); DP_PASS or multicast_rate. */
int dp_lookup_storm(const dp_network *net, int look);

#endif

/*
 * Egress stage "lookup" for a group frame (destination MAC with the group
 * bit) on a multicast network: which VTEPs get a copy, by the rules of
 * docs/multicast.md (src/dataplane/multicast/settings.ts), and the storm
 * control that bounds the replicated frames. ARP and neighbour discovery
 * never get here: the proxy answered them before.
 *
 *   1. IGMP, or MLD (after any hop-by-hop header) → the membership listener
 *   3. broadcast, 224.0.0.0/24, ff02::/16 but solicited-node → every VTEP
 *   4. solicited-node, not ND → nobody (multicast)
 *   5. any other group MAC → the group table's VTEPs (none: multicast)
 */
#ifndef OVERLAYD_PIPELINE_LOOKUP_GROUP_H
#define OVERLAYD_PIPELINE_LOOKUP_GROUP_H

#include "pipeline/frame.h"
#include "tables/groups.h"
#include "tables/tables.h"

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

/**
 * The multicast metrics (issue 14, docs/multicast.md "Metrics"), read at
 * scrape time; storm-control drops are `overlayd_drops_total{reason="multicast_rate"}`:
 *
 *   overlayd_multicast_frames_total    broadcast and multicast frames replicated (once per frame)
 *   overlayd_multicast_copies_total    the copies sent for them (also in overlayd_packets_total{direction="tx"})
 *   overlayd_multicast_rx_total        broadcast and multicast frames admitted from other VTEPs
 *   overlayd_multicast_groups{network} groups with a member anywhere (a host's endpoint or a static peer)
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DatapathCounters } from '../dataplane/datapath.js';
import type { GroupRow } from './operations.js';

/** Registers the metrics; returns the refresh to call before each scrape. */
export function registerMulticastMetrics(registry: Registry, groups: () => GroupRow[]): (c: DatapathCounters) => void {
  const registers = [registry];
  // Counters set from the data path's own counters before each scrape (reset, then inc).
  const frames = new Counter({ name: 'overlayd_multicast_frames_total', help: 'Broadcast and multicast frames replicated to other hosts (once per frame)', registers });
  const copies = new Counter({ name: 'overlayd_multicast_copies_total', help: 'Copies of replicated frames sent, one per VTEP', registers });
  const rx = new Counter({ name: 'overlayd_multicast_rx_total', help: 'Broadcast and multicast frames admitted from other hosts', registers });
  const perNetwork = new Gauge({ name: 'overlayd_multicast_groups', help: 'Multicast groups with a member anywhere, by network', labelNames: ['network'], registers });
  return (c) => {
    const m = c.multicast;
    for (const [counter, n] of [[frames, m.frames], [copies, m.copies], [rx, m.rx]] as const) {
      counter.reset();
      counter.inc(n);
    }
    perNetwork.reset();
    const count = new Map<string, number>();
    for (const row of groups()) count.set(row.network, (count.get(row.network) ?? 0) + 1);
    for (const [network, n] of count) perNetwork.set({ network }, n);
  };
}

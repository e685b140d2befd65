/**
 * The per-peer metrics (docs/debugging.md "Metrics"): data-path health and
 * traffic of each remote VTEP, from the rows of `overlayctl peers`, labelled
 * by VTEP and node (empty for a static peer). Rows that went away go with them.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PeerRow } from './peer-health.js';

/** Registers the peer metrics; returns the refresh to call before each scrape. */
export function registerPeerMetrics(registry: Registry, peers: () => PeerRow[]): () => void {
  const labelNames = ['vtep', 'node'];
  const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, labelNames, registers: [registry] });
  const up = gauge('overlayd_peer_up', 'Whether probes to the VTEP are answered over the data path (1 up, 0 down or unknown)');
  const rtt = gauge('overlayd_peer_rtt_seconds', 'Round-trip time of the last probe replies over the data path');
  // Counters (promtool: only counters end in _total), set to the data path's own sums before each scrape.
  const counter = (name: string, help: string): Counter => new Counter({ name, help, labelNames, registers: [registry] });
  const moved = {
    txPackets: counter('overlayd_peer_tx_packets_total', 'VXLAN payloads sent to the VTEP'),
    rxPackets: counter('overlayd_peer_rx_packets_total', 'Frames admitted from the VTEP'),
    txBytes: counter('overlayd_peer_tx_bytes_total', 'VXLAN payload bytes sent to the VTEP'),
    rxBytes: counter('overlayd_peer_rx_bytes_total', 'Inner frame bytes admitted from the VTEP'),
  };
  return () => {
    for (const g of [up, rtt, ...Object.values(moved)]) g.reset();
    for (const row of peers()) {
      const labels = { vtep: row.vtep, node: row.node ?? '' };
      up.set(labels, row.state === 'up' ? 1 : 0);
      if (row.rttMs !== null) rtt.set(labels, row.rttMs / 1000);
      for (const [field, c] of Object.entries(moved)) c.inc(labels, row[field as keyof typeof moved]);
    }
  };
}

/** Prometheus metrics on --metrics-addr: the data path's counters, read at scrape time (drops, members, keys: metrics-events.ts; multicast: multicast-metrics.ts). */
import http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Agent } from './agent.js';
import { eventMetrics } from './metrics-events.js';
import { registerPeerMetrics } from './peer-metrics.js';
import { registerMulticastMetrics } from './multicast-metrics.js';

export function startMetrics(agent: Agent, hostPort: string): Promise<http.Server> {
  const m = /^(.*):(\d+)$/.exec(hostPort);
  if (!m) throw new Error(`--metrics-addr must be HOST:PORT, got "${hostPort}"`);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named _total, which promtool refuses; the per-type gauges beside them (nodejs_active_handles{type}, …) stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  // Counters (their names end in _total), set from the data path's own counters before each scrape.
  const packets = new Counter({ name: 'overlayd_packets_total', help: 'VXLAN packets by direction', labelNames: ['direction'], registers: [registry] });
  const bytes = new Counter({ name: 'overlayd_bytes_total', help: 'VXLAN payload bytes by direction', labelNames: ['direction'], registers: [registry] });
  const networks = new Gauge({ name: 'overlayd_networks', help: 'Overlay networks known', registers: [registry] });
  const refreshEvents = eventMetrics(agent, registry);
  const refreshPeers = registerPeerMetrics(registry, () => agent.peers());
  const refreshMulticast = registerMulticastMetrics(registry, () => agent.groupRows());
  const refresh = (): void => {
    refreshPeers();
    const c = agent.counters();
    refreshMulticast(c);
    packets.reset();
    bytes.reset();
    packets.inc({ direction: 'tx' }, c.tx.packets);
    packets.inc({ direction: 'rx' }, c.rx.packets);
    bytes.inc({ direction: 'tx' }, c.tx.bytes);
    bytes.inc({ direction: 'rx' }, c.rx.bytes);
    networks.set(agent.store.networks().length);
    refreshEvents();
  };
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    refresh();
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  const host = m[1].replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, () => resolve(server));
  });
}

/** Prometheus metrics on --metrics-addr: the data path's counters, read at scrape time. */
import http from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Agent } from './agent.js';
import { registerPeerMetrics } from './peer-metrics.js';

export function startMetrics(agent: Agent, hostPort: string): Promise<http.Server> {
  const m = /^(.*):(\d+)$/.exec(hostPort);
  if (!m) throw new Error(`--metrics-addr must be HOST:PORT, got "${hostPort}"`);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const packets = new Gauge({ name: 'overlayd_packets_total', help: 'VXLAN packets by direction', labelNames: ['direction'], registers: [registry] });
  const bytes = new Gauge({ name: 'overlayd_bytes_total', help: 'VXLAN payload bytes by direction', labelNames: ['direction'], registers: [registry] });
  const drops = new Gauge({ name: 'overlayd_drops_total', help: 'Frames and datagrams dropped, by reason', labelNames: ['reason'], registers: [registry] });
  const networks = new Gauge({ name: 'overlayd_networks', help: 'Overlay networks known', registers: [registry] });
  const refreshPeers = registerPeerMetrics(registry, () => agent.peers());
  const refresh = (): void => {
    refreshPeers();
    const c = agent.counters();
    packets.set({ direction: 'tx' }, c.tx.packets);
    packets.set({ direction: 'rx' }, c.rx.packets);
    bytes.set({ direction: 'tx' }, c.tx.bytes);
    bytes.set({ direction: 'rx' }, c.rx.bytes);
    for (const [reason, n] of Object.entries(c.drops)) drops.set({ reason }, n);
    networks.set(agent.store.networks().length);
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

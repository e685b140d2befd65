/**
 * The reference row: the underlay itself, host namespace to host namespace
 * over the switch bridge, no overlay at all. Every overlay's figures are
 * bounded by it on this machine.
 */
import type { Topology } from '../../src/testkit/netns.js';
import type { BenchOverlay } from './overlay.js';

/** Host 1 → host 2 over the plain underlay (IPv4). Nothing to build, nothing to destroy. */
export function underlayPath(topology: Topology): BenchOverlay {
  const [a, b] = [topology.host(1), topology.host(2)];
  return {
    name: 'underlay (no overlay)',
    client: { ns: a.ns, addr4: a.addr4 ?? '' },
    server: { ns: b.ns, addr4: b.addr4 ?? '' },
    destroy: async () => undefined,
  };
}

import { describe, expect, it } from 'vitest';
import { useSimClusters } from './helpers.js';

const simCluster = useSimClusters();

describe('memberlist on the mock network', () => {
  it('joins: every node learns every other as alive', async () => {
    const cluster = simCluster(1);
    const nodes = await cluster.addConverged(5);
    for (const n of nodes) {
      expect(n.members().map((m) => m.name).sort()).toEqual(['node0', 'node1', 'node2', 'node3', 'node4']);
      expect(n.members().every((m) => m.state === 'alive')).toBe(true);
    }
  });

  it('declares a silent node dead through suspicion', async () => {
    const cluster = simCluster(2);
    const nodes = await cluster.addConverged(4);
    await nodes[3]!.shutdown();
    const c = cluster;
    await c.runUntil(() => nodes.slice(0, 3).every((n) => c.stateOf(n, 'node3') === 'dead'), 60_000);
    for (const n of nodes.slice(0, 3)) expect(c.stateOf(n, 'node3')).toBe('dead');
    expect(nodes[0]!.getStats().suspectsRaised + nodes[1]!.getStats().suspectsRaised + nodes[2]!.getStats().suspectsRaised).toBeGreaterThan(0);
  });

  it('sees a graceful leave as left, not dead', async () => {
    const cluster = simCluster(3);
    const nodes = await cluster.addConverged(3);
    const leaving = nodes[2]!.leave(5_000);
    await cluster.runUntil(() => false, 2_000);
    await leaving;
    expect(cluster.stateOf(nodes[0]!, 'node2')).toBe('left');
    expect(cluster.stateOf(nodes[1]!, 'node2')).toBe('left');
  });
});

import { describe, expect, it } from 'vitest';
import { useSimClusters } from './helpers.js';

const simCluster = useSimClusters();

describe('Lifeguard on the mock network', () => {
  it('an isolated node loses health and probes less often; health recovers after', async () => {
    const c = simCluster(61);
    const nodes = await c.addConverged(5);
    const lonely = nodes[0]!;
    const probesHealthy = lonely.getStats().probes;
    await c.run(20_000);
    const healthyRate = lonely.getStats().probes - probesHealthy;
    expect(lonely.healthScore()).toBe(0);

    c.network.partition([lonely.localNode().addr]);
    await c.run(10_000);
    expect(lonely.healthScore()).toBeGreaterThan(2);
    const before = lonely.getStats().probes;
    await c.run(20_000);
    const degradedRate = lonely.getStats().probes - before;
    expect(degradedRate).toBeLessThan(healthyRate / 2); // probe interval × (health + 1)

    c.network.heal();
    await c.join(lonely, nodes[1]!);
    await c.runUntil(() => lonely.healthScore() === 0, 120_000);
    expect(lonely.healthScore()).toBe(0);
  });

  it('the ping delegate puts a payload in acks and hears RTTs', async () => {
    const c = simCluster(62, { delayMs: 5 });
    const rtts: Array<[string, number, string]> = [];
    const a = await c.add('a', {}, { ping: { ackPayload: () => Buffer.from('a-payload'), notifyPingComplete: (n, rtt, p) => rtts.push([n.name, rtt, p.toString()]) } });
    const b = await c.add('b', {}, { ping: { ackPayload: () => Buffer.from('b-payload'), notifyPingComplete: (n, rtt, p) => rtts.push([n.name, rtt, p.toString()]) } });
    await c.join(b, a);
    await c.run(3_000);
    expect(rtts.length).toBeGreaterThan(0);
    for (const [name, rtt, payload] of rtts) {
      expect(payload).toBe(`${name}-payload`);
      expect(rtt).toBe(10); // 5 ms each way on the virtual clock
    }
  });
});

describe('TCP fallback ping', () => {
  it('keeps a node whose UDP is blocked alive; without it the node is declared dead', async () => {
    for (const disableTcpPings of [false, true]) {
      const c = simCluster(63);
      const nodes = await c.addConverged(4, 'node', { disableTcpPings });
      c.network.packetsBlocked.add(nodes[3]!.localNode().addr);
      const observers = nodes.slice(0, 3);
      if (disableTcpPings) await c.runUntil(() => observers.every((n) => n.member('node3')?.state === 'dead'), 60_000);
      else await c.run(60_000);
      const seen = observers.map((n) => n.member('node3')?.state);
      if (disableTcpPings) {
        expect(seen).toEqual(['dead', 'dead', 'dead']);
      } else {
        expect(seen).toEqual(['alive', 'alive', 'alive']);
        expect(nodes.slice(0, 3).reduce((s, n) => s + n.getStats().tcpFallbackPings, 0)).toBeGreaterThan(0);
      }
      await c.close();
    }
  });
});

describe('nacks and periodic push/pull', () => {
  it('nacks from indirect probers keep a healthy prober healthy when a peer dies', async () => {
    const c = simCluster(64);
    // Nacks come ProbeTimeout after the indirect request; with memberlist's defaults
    // (timeout = interval / 2) they land just after the probe gave up, in Go too.
    // A shorter timeout lets them arrive within the probe.
    const nodes = await c.addConverged(5, 'node', { probeTimeoutMs: 200 });
    await nodes[4]!.shutdown();
    const observers = nodes.slice(0, 4);
    let worstHealth = 0;
    await c.runUntil(() => {
      worstHealth = Math.max(worstHealth, ...observers.map((n) => n.healthScore()));
      return observers.every((n) => n.member('node4')?.state === 'dead');
    }, 60_000);
    expect(observers.reduce((s, n) => s + n.getStats().probesFailed, 0)).toBeGreaterThan(0);
    expect(worstHealth).toBe(0); // a failed probe with all nacks back is the target's fault, not ours
  });

  it('periodic push/pull repairs state that gossip missed', async () => {
    const c = simCluster(65);
    const nodes = await c.addJoined(3, 'node', { pushPullIntervalMs: 5_000, gossipIntervalMs: 0 });
    // No gossip loop at all: news travels only on probes and push/pull.
    await c.runUntil(() => nodes.every((n) => n.numMembers() === 3), 60_000);
    const before = nodes.map((n) => n.getStats().pushPulls);
    await c.run(30_000);
    nodes.forEach((n, i) => expect(n.getStats().pushPulls - before[i]!).toBeGreaterThanOrEqual(4));
    for (const n of nodes) expect(n.members().map((m) => m.state)).toEqual(['alive', 'alive', 'alive']);
  });
});

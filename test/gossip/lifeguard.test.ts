import { describe, expect, it } from 'vitest';
import { Awareness } from '../../src/gossip/awareness.js';
import { Suspicion, remainingSuspicionTime, suspicionTimeout } from '../../src/gossip/suspicion.js';
import { VirtualClock } from '../../src/gossip/clock.js';
import { pushPullScale } from '../../src/gossip/engine.js';
import { retransmitLimit } from '../../src/gossip/broadcast-queue.js';
import { defaultLanConfig } from '../../src/gossip/config.js';

describe('Lifeguard awareness', () => {
  it('stays within [0, max-1] and scales timeouts by score+1', () => {
    const a = new Awareness(8);
    a.applyDelta(-3);
    expect(a.healthScore()).toBe(0);
    a.applyDelta(5);
    expect(a.scaleTimeout(1000)).toBe(6000);
    a.applyDelta(100);
    expect(a.healthScore()).toBe(7);
    expect(a.scaleTimeout(500)).toBe(4000);
  });
});

describe('suspicion timeouts', () => {
  it('follow memberlist formulas', () => {
    expect(suspicionTimeout(4, 1, 1000)).toBe(4000);
    expect(suspicionTimeout(4, 10, 1000)).toBe(4000);
    expect(suspicionTimeout(4, 1000, 1000)).toBe(12000);
    expect(suspicionTimeout(4, 100, 500)).toBe(4000);
    // memberlist's suspicion_test table: n=0 → max, n=k → min.
    expect(remainingSuspicionTime(0, 3, 0, 2000, 30000)).toBe(30000);
    expect(remainingSuspicionTime(1, 3, 2000, 2000, 30000)).toBe(14000);
    expect(remainingSuspicionTime(2, 3, 3000, 2000, 30000)).toBe(4810);
    expect(remainingSuspicionTime(3, 3, 4000, 2000, 30000)).toBe(-2000);
    expect(remainingSuspicionTime(4, 3, 5000, 2000, 30000)).toBe(-3000);
  });

  it('fire at max without confirmations, sooner with each new accuser, once', async () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const s = new Suspicion(clock, 'a', 3, 2000, 30000, (n) => fired.push(n));
    expect(s.confirm('a')).toBe(false); // the first accuser does not count
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false);
    await clock.advance(15_999); // one confirmation of k = 3: 30 s − ln2/ln4 × 28 s = 16 s
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual([1]);
    expect(s.confirm('c')).toBe(true);
    await clock.advance(60_000);
    expect(fired).toEqual([1]);
  });

  it('use the minimum when k < 1', async () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    new Suspicion(clock, 'a', 0, 2000, 30000, (n) => fired.push(n));
    await clock.advance(2000);
    expect(fired).toEqual([0]);
  });
});

describe('memberlist formulas', () => {
  it('retransmit limit and push/pull scaling', () => {
    expect(retransmitLimit(4, 0)).toBe(0);
    expect(retransmitLimit(4, 1)).toBe(4);
    expect(retransmitLimit(4, 99)).toBe(8);
    expect(retransmitLimit(4, 1000)).toBe(16);
    expect(pushPullScale(30_000, 32)).toBe(30_000);
    expect(pushPullScale(30_000, 33)).toBe(60_000);
    expect(pushPullScale(30_000, 64)).toBe(60_000);
    expect(pushPullScale(30_000, 65)).toBe(90_000);
    expect(pushPullScale(30_000, 1000)).toBe(180_000);
  });

  it('DefaultLANConfig values', () => {
    const c = defaultLanConfig();
    expect(c).toMatchObject({
      bindPort: 7946, protocolVersion: 2, tcpTimeoutMs: 10_000, indirectChecks: 3, retransmitMult: 4, suspicionMult: 4,
      suspicionMaxTimeoutMult: 6, pushPullIntervalMs: 30_000, probeTimeoutMs: 500, probeIntervalMs: 1_000,
      awarenessMaxMultiplier: 8, gossipNodes: 3, gossipIntervalMs: 200, gossipToTheDeadTimeMs: 30_000,
      gossipVerifyIncoming: true, gossipVerifyOutgoing: true, enableCompression: true, handoffQueueDepth: 1024, udpBufferSize: 1400,
    });
  });
});

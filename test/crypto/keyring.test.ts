/**
 * The three-key ring and its rotation: receive-first ordering, the sender
 * always switching to a key every node has had for a period, hitless
 * rotation across a simulated cluster where nodes learn of a rotation at
 * different times, and the schedule over an injected clock.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ROTATION_INTERVAL_MS,
  deriveSa,
  isCryptoError,
  KEYRING_CAPACITY,
  type KeyringState,
  NetworkKeyring,
  openEsp,
  ReplayWindow,
  RotationSchedule,
  sealEsp,
} from '../../src/crypto/index.js';
import { parseIp } from '../../src/wire/index.js';
import { testKey, thrownBy } from './support.js';

const HOUR = 3_600_000;

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('NetworkKeyring', () => {
  it('installs for receive only; the first rotation of an empty ring makes the key the sender', () => {
    const ring = new NetworkKeyring();
    const c1 = ring.install(testKey(1));
    expect(c1).toEqual({ installed: [testKey(1)], sendTag: undefined, sendChanged: false, removed: [] });
    expect(ring.sendKey).toBeUndefined();
    const fresh = new NetworkKeyring();
    const c2 = fresh.rotate(testKey(1));
    expect(c2.sendTag).toBe(1);
    expect(c2.sendChanged).toBe(true);
  });

  it('rotates [a, b*, c] → [b, c*, d]: install new, switch to the previous newest, drop the oldest', () => {
    const ring = new NetworkKeyring();
    ring.rotate(testKey(1)); // [1*]
    const s2 = ring.rotate(testKey(2)); // [1*, 2]: 1 stays the sender (it is the newest before 2)
    expect(s2.sendChanged).toBe(false);
    expect(ring.receiveKeys().map((x) => x.tag)).toEqual([1, 2]);
    const s3 = ring.rotate(testKey(3)); // [1, 2*, 3]
    expect(s3).toMatchObject({ installed: [testKey(3)], sendTag: 2, sendChanged: true, removed: [] });
    const s4 = ring.rotate(testKey(4)); // [2, 3*, 4]
    expect(s4).toMatchObject({ installed: [testKey(4)], sendTag: 3, sendChanged: true, removed: [testKey(1)] });
    expect(ring.receiveKeys().map((x) => x.tag)).toEqual([2, 3, 4]);
    expect(ring.receiveKeys().length).toBe(KEYRING_CAPACITY);
  });

  it('never promotes a key installed in the same step, and with minAgeMs not one installed too recently', () => {
    const clock = fakeClock();
    const ring = new NetworkKeyring({ clock: clock.now });
    ring.rotate(testKey(1));
    clock.advance(HOUR);
    ring.rotate(testKey(2));
    clock.advance(1000); // on-demand rotation right after: 2 is only 1 s old
    const early = ring.rotate(testKey(3), { minAgeMs: 60_000 });
    expect(early.sendChanged).toBe(false);
    expect(ring.sendTag).toBe(1);
    clock.advance(60_000);
    const later = ring.rotate(testKey(4), { minAgeMs: 60_000 });
    expect(later.sendTag).toBe(3);
    expect(ring.receiveKeys().map((x) => x.tag)).toEqual([2, 3, 4]);
  });

  it('apply() installs before switching and removes last', () => {
    const ring = new NetworkKeyring();
    ring.apply({ keys: [testKey(1), testKey(2)], sendTag: 1 });
    const change = ring.apply({ keys: [testKey(2), testKey(3)], sendTag: 2 });
    expect(change).toEqual({ installed: [testKey(3)], sendTag: 2, sendChanged: true, removed: [testKey(1)] });
    expect(ring.state()).toEqual({ keys: [testKey(2), testKey(3)], sendTag: 2 });
  });

  it('reports key ages from its clock', () => {
    const clock = fakeClock();
    const ring = new NetworkKeyring({ clock: clock.now });
    ring.install(testKey(5));
    clock.advance(1234);
    expect(ring.age(5)).toBe(1234);
    expect(ring.age(6)).toBeUndefined();
  });

  it('refuses misuse with typed errors', () => {
    const ring = new NetworkKeyring();
    ring.rotate(testKey(1));
    const expectCode = (fn: () => unknown, code: string): void => {
      const thrown = thrownBy(fn);
      expect(isCryptoError(thrown, code as 'KEY_IN_USE'), `${code}: ${String(thrown)}`).toBe(true);
    };
    expectCode(() => ring.use(9), 'KEY_NOT_INSTALLED');
    expectCode(() => ring.remove(1), 'KEY_IN_USE');
    expectCode(() => ring.install({ tag: 1, material: Buffer.alloc(32, 0xee) }), 'KEY_IN_USE');
    expectCode(() => ring.install({ tag: 2, material: Buffer.alloc(8) }), 'BAD_KEY');
    expectCode(() => ring.apply({ keys: [testKey(2)], sendTag: 3 }), 'BAD_ARGUMENT');
    expectCode(() => ring.apply({ keys: [testKey(2), testKey(3), testKey(4), testKey(5)], sendTag: 3 }), 'BAD_ARGUMENT');
    expectCode(() => new NetworkKeyring({ capacity: 1 }), 'BAD_ARGUMENT');
    // Re-installing the same key is harmless.
    expect(ring.install(testKey(1)).installed).toEqual([]);
  });

  it('is hitless across a cluster that learns each rotation at different times', () => {
    // Three nodes; the leader rotates every period; node i applies the new state only i × 10 min later.
    const addrs = ['198.18.0.1', '198.18.0.2', '198.18.0.3'].map(parseIp);
    const rings = addrs.map(() => new NetworkKeyring());
    const windows = new Map<string, ReplayWindow>();
    const seqs = new Map<string, number>();
    const leader = new NetworkKeyring();
    const pending: { at: number; node: number; state: KeyringState }[] = [];
    let now = 0;
    let tag = 0;
    let delivered = 0;
    const publish = (spread: boolean): void => {
      leader.rotate(testKey(++tag));
      const state = leader.state()!;
      rings.forEach((_, node) => pending.push({ at: now + (spread ? node * 10 * 60_000 : 0), node, state }));
    };
    // Network creation: every node has the first ring before any traffic (it joins the network with it).
    publish(false);
    publish(false);
    for (let step = 0; step < 6 * 12 * 6; step++, now += 10 * 60_000) {
      if (step > 0 && step % (12 * 6) === 0) publish(true); // every 12 h, reaching node i after i × 10 min
      for (const p of pending.filter((x) => x.at <= now)) rings[p.node].apply(p.state);
      pending.splice(0, pending.length, ...pending.filter((x) => x.at > now));
      // Every node sends one packet to every other node with its current sending key.
      for (let s = 0; s < addrs.length; s++) {
        for (let d = 0; d < addrs.length; d++) {
          if (s === d || rings[s].sendKey === undefined) continue;
          const sendKey = rings[s].sendKey!;
          const id = `${s}-${d}-${sendKey.tag}`;
          const seq = (seqs.get(id) ?? 0) + 1;
          seqs.set(id, seq);
          const packet = sealEsp(deriveSa({ key: sendKey, src: addrs[s], dst: addrs[d] }), seq, Buffer.from(`step ${step}`));
          // The receiver picks the SA by SPI among the keys it accepts.
          const candidates = rings[d].receiveKeys().map((key) => deriveSa({ key, src: addrs[s], dst: addrs[d] }));
          const sa = candidates.find((c) => c.spi === packet.readUInt32BE(0));
          expect(sa, `step ${step}: node ${d} lacks key ${sendKey.tag} used by node ${s}`).toBeDefined();
          const w = windows.get(id) ?? new ReplayWindow();
          windows.set(id, w);
          expect(typeof openEsp(sa!, w, packet), `step ${step} ${s}→${d}`).toBe('object');
          delivered++;
        }
      }
    }
    expect(tag).toBeGreaterThanOrEqual(7);
    expect(delivered).toBe(6 * 12 * 6 * 6);
  });
});

describe('RotationSchedule', () => {
  it('is due every 12 h by default, on request, and restarts its period when marked', () => {
    const clock = fakeClock(0);
    const s = new RotationSchedule({ clock: clock.now });
    expect(s.intervalMs).toBe(DEFAULT_ROTATION_INTERVAL_MS);
    expect(s.due()).toBe(false);
    expect(s.msUntilDue()).toBe(12 * HOUR);
    clock.advance(12 * HOUR - 1);
    expect(s.due()).toBe(false);
    clock.advance(1);
    expect(s.due()).toBe(true);
    expect(s.msUntilDue()).toBe(0);
    s.markRotated();
    expect(s.due()).toBe(false);
    expect(s.nextDue).toBe(24 * HOUR);
    s.request();
    expect(s.due()).toBe(true);
    s.markRotated();
    expect(s.due()).toBe(false);
  });

  it('takes a custom interval and last rotation, refusing silly intervals', () => {
    const s = new RotationSchedule({ intervalMs: 60_000, lastRotation: 5000, clock: () => 64_999 });
    expect(s.due()).toBe(false);
    expect(s.due(65_000)).toBe(true);
    expect(() => new RotationSchedule({ intervalMs: 10 })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });
});

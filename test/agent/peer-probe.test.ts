/**
 * One probed path's bookkeeping (src/agent/peer-probe.ts), on a clock the
 * test moves: unknown while probing starts, up on a reply, down after
 * DOWN_AFTER_MS of silence (or never answered), up again on the first reply,
 * down when full-size probes are lost while small ones pass; RTT, loss over
 * the window, clock offset, replies that answer nothing, refused sends.
 */
import { describe, expect, it } from 'vitest';
import { DOWN_AFTER_MS, FULL_LOST_DOWN, LOSS_WINDOW, PROBE_TIMEOUT_MS, ProbePath, SMALL_PROBE_BYTES } from '../../src/agent/peer-probe.js';
import type { Probe } from '../../src/wire/index.js';

const SPEC = { vni: 4200, network: 'blue', vtep: '198.18.0.2', maxFrame: 1464, carrier: 'the data port (udp/4789)' };
const ms = (n: number): bigint => BigInt(n) * 1_000_000n;

/** A path and a clock: `send` a probe at the current time, `answer` it after `rtt` ms with the peer's clock `skew` ms ahead. */
function rig() {
  let now = 1_000_000;
  const path = new ProbePath(SPEC, now);
  return {
    path,
    at: () => now,
    advance: (d: number) => (now += d),
    send: (full = false) => path.next(full, ms(now), now),
    answer: (p: Probe, rtt: number, skew = 0) => {
      now += rtt;
      return path.replied({ ...p, kind: 'reply', wallMs: now - rtt / 2 + skew }, ms(now), now);
    },
  };
}

describe('ProbePath', () => {
  it('is unknown while probing starts, up on the first reply, with its RTT and the peer clock', () => {
    const r = rig();
    const p = r.send();
    expect(p).toMatchObject({ kind: 'request', seq: 1, size: SMALL_PROBE_BYTES });
    expect(r.path.state(r.at())).toEqual({ state: 'unknown', reason: 'network blue: probing' });
    expect(r.answer(p, 2, 150)).toBe(true);
    expect(r.path.state(r.at())).toEqual({ state: 'up' });
    expect(r.path.rttMs).toBeCloseTo(2, 6);
    expect(r.path.clockOffsetMs).toBe(150);
    expect(r.path.lossPct()).toBe(0);
  });

  it('goes down after DOWN_AFTER_MS without a reply, with the reason, and up on the first reply', () => {
    const r = rig();
    r.answer(r.send(), 1);
    let last: Probe | undefined;
    for (let t = 0; t < DOWN_AFTER_MS; t += 1000) {
      r.advance(1000);
      r.path.expire(ms(r.at()));
      last = r.send();
    }
    const down = r.path.state(r.at());
    expect(down.state).toBe('down');
    expect(down.reason).toBe(`network blue: no reply for ${DOWN_AFTER_MS / 1000} s to probes to 198.18.0.2 over the data port (udp/4789)`);
    expect(r.answer(last!, 1)).toBe(true);
    expect(r.path.state(r.at()).state).toBe('up');
  });

  it('says "no reply yet" for a path never answered, and names a send the data path refused', () => {
    const r = rig();
    const p = r.send();
    r.path.refused(p.seq, 'no_sa');
    r.advance(DOWN_AFTER_MS);
    expect(r.path.state(r.at()).reason).toBe(`network blue: no reply yet to probes to 198.18.0.2 over the data port (udp/4789); this host's data path refuses them: no_sa`);
    expect(r.path.lossPct()).toBe(100);
  });

  it('counts loss over the last LOSS_WINDOW small probes', () => {
    const r = rig();
    for (let i = 0; i < LOSS_WINDOW; i++) {
      const p = r.send();
      if (i % 3 === 0) {
        r.advance(PROBE_TIMEOUT_MS);
        r.path.expire(ms(r.at()));
      } else {
        r.answer(p, 1);
      }
    }
    expect(r.path.windowCounts()).toEqual({ probes: LOSS_WINDOW, lost: LOSS_WINDOW / 3 });
    for (let i = 0; i < LOSS_WINDOW; i++) r.answer(r.send(), 1);
    expect(r.path.lossPct()).toBe(0);
  });

  it('goes down when full-size probes are lost while small ones pass, and up when one passes again', () => {
    const r = rig();
    for (let i = 0; i < FULL_LOST_DOWN; i++) {
      r.answer(r.send(), 1);
      expect(r.send(true).size).toBe(1464);
      r.advance(PROBE_TIMEOUT_MS);
      r.path.expire(ms(r.at()));
      r.answer(r.send(), 1);
    }
    expect(r.path.state(r.at())).toEqual({ state: 'down', reason: 'network blue: frames of 1464 bytes lost, small ones pass (MTU black hole on the underlay?)' });
    r.answer(r.send(true), 1);
    expect(r.path.state(r.at()).state).toBe('up');
  });

  it('ignores replies that answer no probe in flight: unknown sequence numbers, wrong times, repeats', () => {
    const r = rig();
    const p = r.send();
    expect(r.path.replied({ ...p, seq: 99, kind: 'reply' }, ms(r.at()), r.at())).toBe(false);
    expect(r.path.replied({ ...p, sentNs: p.sentNs + 1n, kind: 'reply' }, ms(r.at()), r.at())).toBe(false);
    expect(r.answer(p, 1)).toBe(true);
    expect(r.answer(p, 1)).toBe(false);
  });
});

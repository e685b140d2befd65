/**
 * The RFC 6479 window with RFC 4303 appendix A ESN inference: duplicates,
 * the left edge, far-ahead jumps, far-behind packets, and the wrap of the low
 * 32 bits — both while the window straddles a 2^32 boundary and after.
 */
import { describe, expect, it } from 'vitest';
import { isCryptoError, REPLAY_DUPLICATE, REPLAY_TOO_OLD, ReplayWindow, seqHigh, seqLow } from '../../src/crypto/index.js';

const TWO_32 = 2 ** 32;

/** Accepts `seq` the way openEsp does: check the low half, then accept the inferred number. */
function receive(w: ReplayWindow, seq: number): number {
  const verdict = w.check(seqLow(seq));
  if (verdict > 0) w.accept(verdict);
  return verdict;
}

describe('ReplayWindow', () => {
  it('refuses sizes below 1024, not multiples of 32, or absurdly large', () => {
    for (const size of [0, 512, 1023, 1056 + 1, 1 << 20]) {
      expect(() => new ReplayWindow(size), String(size)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    }
    expect(new ReplayWindow(1024).size).toBe(1024);
    expect(new ReplayWindow().size).toBeGreaterThanOrEqual(1024);
    try {
      new ReplayWindow(100);
    } catch (e) {
      expect(isCryptoError(e, 'BAD_ARGUMENT')).toBe(true);
    }
  });

  it('accepts in-order numbers and rejects each duplicate', () => {
    const w = new ReplayWindow(1024);
    for (let s = 1; s <= 3000; s++) expect(receive(w, s)).toBe(s);
    expect(w.top).toBe(3000);
    for (const s of [3000, 2999, 2000, 1977]) expect(w.check(s), String(s)).toBe(REPLAY_DUPLICATE);
  });

  it('seeded at a top, refuses everything up to it and accepts what lies above, in any order (also at block edges)', () => {
    for (const top of [1, 31, 32, 63, 64, 1000, 2 ** 32 + 5]) {
      const w = new ReplayWindow(1024);
      w.seed(top);
      expect(w.top).toBe(top);
      for (const seq of [top, top - 1, top - 1023]) if (seq >= 1) expect(w.verdict(seq), `top ${top} seq ${seq}`).toBe(REPLAY_DUPLICATE);
      for (const seq of [top + 2, top + 1, top + 33]) {
        expect(w.verdict(seq), `top ${top} seq ${seq}`).toBe(seq);
        w.accept(seq);
      }
      expect(w.verdict(top + 1)).toBe(REPLAY_DUPLICATE);
    }
    const empty = new ReplayWindow(1024);
    empty.seed(0);
    expect(empty.verdict(1)).toBe(1);
  });

  it('sequence number 0 is never valid', () => {
    const w = new ReplayWindow(1024);
    expect(w.check(0)).toBe(REPLAY_TOO_OLD);
    expect(w.verdict(0)).toBe(REPLAY_TOO_OLD);
  });

  it('has an exact left edge: top − size + 1 is inside, top − size is too old', () => {
    const w = new ReplayWindow(1024);
    receive(w, 5000);
    expect(w.check(5000 - 1023)).toBe(5000 - 1023);
    expect(w.verdict(5000 - 1024)).toBe(REPLAY_TOO_OLD);
    // On the wire only the low half travels: below the window it reads as the next 2^32 subspace.
    expect(w.check(5000 - 1024)).toBe(TWO_32 + 5000 - 1024);
    expect(receive(w, 5000 - 1023)).toBe(5000 - 1023);
    expect(w.check(5000 - 1023)).toBe(REPLAY_DUPLICATE);
  });

  it('accepts out-of-order numbers inside the window exactly once', () => {
    const w = new ReplayWindow(1024);
    const order = [10, 3, 7, 1, 2, 9, 4, 8, 6, 5];
    for (const s of order) expect(receive(w, s)).toBe(s);
    for (const s of order) expect(w.check(s)).toBe(REPLAY_DUPLICATE);
    expect(w.top).toBe(10);
  });

  it('forgets bits the window slid past, and clears blocks reused by the ring', () => {
    const w = new ReplayWindow(1024);
    for (let s = 1; s <= 64; s++) receive(w, s);
    // Jump by less than the window: 1..64 are still tracked (duplicates), the gap is fresh.
    receive(w, 900);
    expect(w.check(64)).toBe(REPLAY_DUPLICATE);
    expect(w.check(500)).toBe(500);
    // Slide so that the blocks that held 1..64 are reused for 1089..1152: those must read as unseen.
    receive(w, 1100);
    expect(w.verdict(64)).toBe(REPLAY_TOO_OLD);
    for (const s of [1089, 1090, 1099, 1101 - 1024 + 1000]) expect(w.check(s), String(s)).toBe(s);
    expect(w.check(1100)).toBe(REPLAY_DUPLICATE);
  });

  it('a far-ahead jump (more than the window) clears everything and is itself accepted', () => {
    const w = new ReplayWindow(1024);
    for (let s = 1; s <= 100; s++) receive(w, s);
    expect(receive(w, 1_000_000)).toBe(1_000_000);
    expect(w.verdict(100)).toBe(REPLAY_TOO_OLD);
    expect(w.check(999_999)).toBe(999_999);
    expect(w.check(1_000_000 - 1023)).toBe(1_000_000 - 1023);
  });

  it('infers the high half across the 2^32 wrap of the low half (RFC 4303 A2.2 case A and B)', () => {
    const w = new ReplayWindow(1024);
    const start = TWO_32 - 600;
    w.accept(start); // as if the SA had run this far
    // Case A (window inside one subspace): a low half below the window means "next subspace".
    expect(w.infer(seqLow(start + 1))).toBe(start + 1);
    expect(w.infer(5)).toBe(TWO_32 + 5);
    expect(w.infer(seqLow(start - 100))).toBe(start - 100);
    // Cross the boundary packet by packet.
    for (let s = start + 1; s <= TWO_32 + 400; s++) expect(receive(w, s)).toBe(s);
    expect(seqHigh(w.top)).toBe(1);
    // Case B (window straddles the boundary): high low-halves belong to the previous subspace.
    expect(w.infer(seqLow(TWO_32 - 100))).toBe(TWO_32 - 100);
    expect(w.check(seqLow(TWO_32 - 100))).toBe(REPLAY_DUPLICATE);
    expect(w.verdict(TWO_32 - 700)).toBe(REPLAY_TOO_OLD);
    // Below the straddling window the low half reads as the current subspace, far ahead.
    expect(w.check(seqLow(TWO_32 - 700))).toBe(2 * TWO_32 - 700);
    expect(w.check(seqLow(TWO_32 - 600))).toBe(REPLAY_DUPLICATE);
    expect(w.infer(401)).toBe(TWO_32 + 401);
    expect(receive(w, TWO_32 + 401)).toBe(TWO_32 + 401);
  });

  it('handles late packets from before the wrap after the top crossed it', () => {
    const w = new ReplayWindow(1024);
    w.accept(TWO_32 - 10);
    receive(w, TWO_32 + 10);
    // TWO_32 − 5 was lost in reordering and arrives now: inferred in the old subspace, accepted once.
    expect(receive(w, TWO_32 - 5)).toBe(TWO_32 - 5);
    expect(w.check(seqLow(TWO_32 - 5))).toBe(REPLAY_DUPLICATE);
    expect(w.check(seqLow(TWO_32 - 10))).toBe(REPLAY_DUPLICATE);
  });

  it('far-behind low halves read as the next subspace (the ICV then decides), never as old ones', () => {
    const w = new ReplayWindow(1024);
    w.accept(10_000_000);
    // RFC 4303: with ESN a low half far below the window is a number 2^32 ahead.
    expect(w.infer(5)).toBe(TWO_32 + 5);
    expect(w.verdict(5)).toBe(REPLAY_TOO_OLD);
  });

  it('a fresh window refuses low halves that would need a negative high half', () => {
    const w = new ReplayWindow(1024);
    expect(w.infer(0xffffffff)).toBeLessThan(0);
    expect(w.check(0xffffffff)).toBe(REPLAY_TOO_OLD);
    expect(w.check(1)).toBe(1);
  });

  it('works at high 64-bit values and at the 2^53 limit', () => {
    const w = new ReplayWindow(1024);
    const big = 2 ** 52 + 12345;
    w.accept(big);
    expect(w.check(seqLow(big + 1))).toBe(big + 1);
    expect(w.check(seqLow(big))).toBe(REPLAY_DUPLICATE);
    expect(w.verdict(Number.MAX_SAFE_INTEGER + 1)).toBe(REPLAY_TOO_OLD);
    w.accept(Number.MAX_SAFE_INTEGER);
    expect(w.top).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('agrees with a naive set-based model on random traffic', () => {
    let s = 12345;
    const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (const size of [1024, 4096]) {
      const w = new ReplayWindow(size);
      const seen = new Set<number>();
      let top = 0;
      let next = TWO_32 - 3000;
      for (let i = 0; i < 20_000; i++) {
        const r = rand();
        // Mostly in order, some reordering, some duplicates, some far jumps.
        const seq = r < 0.7 ? ++next : r < 0.9 ? Math.max(1, next - Math.floor(rand() * size * 1.2)) : r < 0.98 ? next : (next += Math.floor(rand() * 5000));
        const expected = seq > top ? seq : top - seq >= size ? REPLAY_TOO_OLD : seen.has(seq) ? REPLAY_DUPLICATE : seq;
        expect(w.verdict(seq)).toBe(expected);
        if (expected > 0) {
          w.accept(seq);
          seen.add(seq);
          top = Math.max(top, seq);
        }
      }
    }
  });

  it('reset forgets everything', () => {
    const w = new ReplayWindow(1024);
    receive(w, 77);
    w.reset();
    expect(w.top).toBe(0);
    expect(w.check(77)).toBe(77);
  });
});

/**
 * Time for the gossip engine. Every timer the engine starts goes through a
 * {@link Clock}, so tests and the 1,000-node benchmark can run the protocol on
 * a {@link VirtualClock} faster than real time, with the same code paths.
 */

/** A pending timer; `cancel()` is idempotent. */
export interface TimerHandle {
  cancel(): void;
}

/** The engine's view of time: a monotonic millisecond counter and one-shot timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences are meaningful). */
  now(): number;
  /** Run `fn` once after `ms` milliseconds (clamped at 0). */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** The real clock: `performance.now()` and Node timers (unref'd, so they never hold the process open). */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

interface VirtualTimer {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

/**
 * A clock that only moves when told to. Timers fire in (time, creation) order.
 * `advance()` yields to the event loop between timers so promise chains and
 * in-memory streams started by a timer settle before the next one fires.
 */
export class VirtualClock implements Clock {
  private current = 0;
  private seq = 0;
  private readonly heap: VirtualTimer[] = [];

  /** Creates a clock starting at `startMs`. */
  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: VirtualTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.push(timer);
    return { cancel: () => { timer.fn = null; } };
  }

  /** Number of timers still waiting (cancelled ones included until they surface). */
  get pending(): number {
    return this.heap.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way.
   * `yieldEvery` timers, it lets the event loop run (I/O, promises).
   */
  async advance(ms: number, yieldEvery = 1): Promise<void> {
    const end = this.current + ms;
    let fired = 0;
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || next.at > end) break;
      this.pop();
      this.current = Math.max(this.current, next.at);
      const fn = next.fn;
      if (fn === null) continue;
      next.fn = null;
      fn();
      if (++fired % yieldEvery === 0) await yieldToEventLoop();
    }
    this.current = end;
    await yieldToEventLoop();
  }

  /** Advances in steps of `stepMs` until `done()` holds or `maxMs` passed; returns the time taken. */
  async advanceUntil(done: () => boolean, maxMs: number, stepMs = 10): Promise<number> {
    const start = this.current;
    while (!done() && this.current - start < maxMs) await this.advance(stepMs);
    return this.current - start;
  }

  private push(t: VirtualTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Resolves after pending I/O callbacks and microtasks have run. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A small seeded PRNG (mulberry32) returning numbers in [0, 1), for
 * deterministic simulations. `Math.random` is the default elsewhere.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

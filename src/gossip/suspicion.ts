/**
 * Lifeguard's suspicion timer: a suspected node is declared dead after a
 * timeout that starts at `max` and shrinks towards `min` as `k` independent
 * peers confirm the suspicion: timeout(c) = max(min, max − ln(c+1)/ln(k+1) ×
 * (max − min)).
 */
import type { Clock, TimerHandle } from './clock.js';

/** One running suspicion about one node. */
export class Suspicion {
  private confirmationsCount = 0;
  private readonly confirmations = new Set<string>();
  private readonly start: number;
  private timer: TimerHandle;
  private fired = false;

  /**
   * @param from  the first accuser (does not count as a confirmation)
   * @param k     confirmations wanted before the minimum timeout applies
   * @param onTimeout called once with the number of confirmations received
   */
  constructor(
    private readonly clock: Clock,
    from: string,
    private readonly k: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly onTimeout: (confirmations: number) => void,
  ) {
    this.confirmations.add(from);
    this.start = clock.now();
    this.timer = clock.setTimer(k < 1 ? minMs : maxMs, () => this.fire());
  }

  /**
   * Records a confirmation from a new accuser and shortens the timer.
   * Returns true when it was new (memberlist re-broadcasts the suspicion then).
   */
  confirm(from: string): boolean {
    if (this.confirmationsCount >= this.k || this.confirmations.has(from)) return false;
    this.confirmations.add(from);
    this.confirmationsCount++;
    if (this.fired) return true;
    const remaining = remainingSuspicionTime(this.confirmationsCount, this.k, this.clock.now() - this.start, this.minMs, this.maxMs);
    this.timer.cancel();
    if (remaining > 0) this.timer = this.clock.setTimer(remaining, () => this.fire());
    else this.fire();
    return true;
  }

  /** Stops the timer (the node was refuted, declared dead or removed). */
  cancel(): void {
    this.fired = true;
    this.timer.cancel();
  }

  private fire(): void {
    if (this.fired) return;
    this.fired = true;
    this.onTimeout(this.confirmationsCount);
  }
}

/** Time left after `elapsedMs` given `n` of `k` confirmations (whole milliseconds, like memberlist). */
export function remainingSuspicionTime(n: number, k: number, elapsedMs: number, minMs: number, maxMs: number): number {
  const frac = Math.log(n + 1) / Math.log(k + 1);
  const raw = maxMs / 1000 - frac * (maxMs / 1000 - minMs / 1000);
  const timeout = Math.max(Math.floor(1000 * raw), minMs);
  return timeout - elapsedMs;
}

/** SuspicionMult × max(1, log10(max(1, n))) × interval. */
export function suspicionTimeout(suspicionMult: number, n: number, intervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  return (suspicionMult * Math.trunc(nodeScale * 1000) * intervalMs) / 1000;
}

/**
 * Lifeguard's local health ("awareness"): a score in [0, max − 1] that rises
 * when this node misses acks or nacks or has to refute, and falls on every
 * good probe. Probe intervals and timeouts are scaled by score + 1, so an
 * overloaded node slows down instead of accusing healthy peers.
 */
export class Awareness {
  private score = 0;

  /** `max` is Config.awarenessMaxMultiplier. */
  constructor(private readonly max: number) {}

  /** Adds `delta` to the score, clamped to [0, max − 1]. */
  applyDelta(delta: number): void {
    this.score = Math.min(Math.max(this.score + delta, 0), Math.max(this.max - 1, 0));
  }

  /** The current score; 0 is healthy. */
  healthScore(): number {
    return this.score;
  }

  /** `timeoutMs` × (score + 1). */
  scaleTimeout(timeoutMs: number): number {
    return timeoutMs * (this.score + 1);
  }
}

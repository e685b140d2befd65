/**
 * When to rotate a network's keys: every `intervalMs` (12 h by default, as
 * Docker), sooner on demand or when a sender's counter passes its rekey
 * threshold. Pure bookkeeping over an injectable clock — no timers — so the
 * owner (the cluster layer) decides how to wait and tests control time.
 */
import { CryptoError } from './errors.js';

/** Default rotation period: 12 hours. */
export const DEFAULT_ROTATION_INTERVAL_MS = 12 * 60 * 60 * 1000;

/** Options of a {@link RotationSchedule}. */
export interface RotationScheduleOptions {
  /** Period between scheduled rotations in ms (default 12 h, at least 1 s). */
  intervalMs?: number;
  /** Clock in ms (default `Date.now`). */
  clock?: () => number;
  /** Time of the last rotation (default: now, i.e. the keys were just made). */
  lastRotation?: number;
}

/** Tracks when the next rotation is due. */
export class RotationSchedule {
  readonly intervalMs: number;
  private readonly clock: () => number;
  private last: number;
  private requested = false;

  /** @throws CryptoError BAD_ARGUMENT for an interval under 1 s */
  constructor(opts: RotationScheduleOptions = {}) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_ROTATION_INTERVAL_MS;
    if (!Number.isFinite(this.intervalMs) || this.intervalMs < 1000) throw new CryptoError('BAD_ARGUMENT', `rotation interval ${this.intervalMs} ms: need ≥ 1000`);
    this.clock = opts.clock ?? Date.now;
    this.last = opts.lastRotation ?? this.clock();
  }

  /** Time of the last rotation. */
  get lastRotation(): number {
    return this.last;
  }

  /** Time the next scheduled rotation is due (ignores requests). */
  get nextDue(): number {
    return this.last + this.intervalMs;
  }

  /** True when a rotation was requested or the period has elapsed. */
  due(now: number = this.clock()): boolean {
    return this.requested || now >= this.nextDue;
  }

  /** Milliseconds until {@link due} turns true (0 when it already is). */
  msUntilDue(now: number = this.clock()): number {
    return this.due(now) ? 0 : this.nextDue - now;
  }

  /** Asks for a rotation as soon as possible (operator request, or a sender near its rekey threshold). */
  request(): void {
    this.requested = true;
  }

  /** Records that a rotation happened at `now`: clears requests, restarts the period. */
  markRotated(now: number = this.clock()): void {
    this.last = now;
    this.requested = false;
  }
}

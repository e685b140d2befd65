/**
 * Storm control of multicast networks (MulticastSettings in ./datapath.ts):
 * a token bucket per network, one token per replicated frame (not per copy),
 * `multicastBurst(rate)` frames deep, refilled at `rate` frames per second.
 *
 * The bucket is kept as GCRA, the generic cell rate algorithm (ITU-T I.371):
 * one "theoretical arrival time" per network instead of a token count and a
 * refill timer. A frame passes when that time is no further ahead of now than
 * the burst allows, and moves it one interval on. Time is integer
 * nanoseconds from an injectable clock, so tests step it by hand.
 */
import { multicastBurst } from './datapath.js';

/** Nanoseconds since an arbitrary origin, never going back. */
export type Clock = () => number;

/** The process's monotonic clock, from the moment it is made (so the numbers stay small and exact). */
export function monotonicClock(): Clock {
  const origin = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - origin);
}

const NS_PER_SECOND = 1_000_000_000;

interface Bucket {
  rate: number;
  /** Nanoseconds one frame costs: 1 s / rate. */
  interval: number;
  /** How far ahead of now the arrival time may run: (burst − 1) intervals. */
  tolerance: number;
  /** The theoretical arrival time of the next frame. */
  tat: number;
}

/** Per-network buckets; a network's bucket is made full on its first frame and again when its rate changes. */
export class StormControl {
  private readonly buckets = new Map<number, Bucket>();

  constructor(private readonly now: Clock = monotonicClock()) {}

  /**
   * Takes one token of network `vni`, whose limit is `rate` frames per
   * second (0: no limit). False when none is left: the frame is dropped
   * (`multicast_rate`). `look`: only say whether one is there (a traced frame).
   */
  take(vni: number, rate: number, look = false): boolean {
    if (rate <= 0) return true;
    const bucket = this.bucket(vni, rate);
    const now = this.now();
    const tat = Math.max(bucket.tat, now);
    if (tat - now > bucket.tolerance) return false;
    if (!look) bucket.tat = tat + bucket.interval;
    return true;
  }

  /** Forgets the network's bucket (the network was removed). */
  delete(vni: number): void {
    this.buckets.delete(vni);
  }

  private bucket(vni: number, rate: number): Bucket {
    const held = this.buckets.get(vni);
    if (held !== undefined && held.rate === rate) return held;
    const interval = Math.floor(NS_PER_SECOND / rate);
    const made: Bucket = { rate, interval, tolerance: interval * (multicastBurst(rate) - 1), tat: -Infinity };
    this.buckets.set(vni, made);
    return made;
  }
}

/**
 * The sender's sequence counter for one outbound SA. Its value is also the
 * AES-GCM IV, so it must never repeat under the SA's key — not even across a
 * restart of the agent: an SA is a pure function of (network key, source,
 * destination), so a restarted sender that counted from 1 again would reuse
 * nonces. Hence reservations: the counter hands out numbers only below a
 * bound that the caller has made durable (written to the state directory),
 * and asks for the next bound `reserveAhead` numbers before it runs out. On
 * restart, resume from the last durable bound: at most one block is skipped.
 */
import { CryptoError } from './errors.js';

/** Default threshold at which {@link OutboundSequence.needsRekey} turns true: 2^40 packets. */
export const DEFAULT_REKEY_AFTER = 2 ** 40;
/** Default size of one reservation block. */
export const DEFAULT_RESERVATION_BLOCK = 2 ** 20;

/** Options of an {@link OutboundSequence}. */
export interface OutboundSequenceOptions {
  /**
   * Last number already used (or reserved by a previous run): the first
   * `next()` returns `start + 1`. Default 0.
   */
  start?: number;
  /** Largest number the SA allows (2^53−1 with ESN, 2^32−1 without). */
  max?: number;
  /** `needsRekey` turns true past this many numbers (default 2^40, far below the limit). */
  rekeyAfter?: number;
  /**
   * Called synchronously with a new bound before any number above the
   * previous bound is handed out; it must make the bound durable before it
   * returns (or throw, which stops the counter). Without it, nothing is reserved.
   */
  reserve?: (upTo: number) => void;
  /** Numbers reserved per call of `reserve` (default 2^20). */
  reserveAhead?: number;
}

/** Monotonic sequence numbers for one outbound SA. */
export class OutboundSequence {
  private lastUsed: number;
  private reservedUpTo: number;
  private readonly max: number;
  private readonly rekeyAfter: number;
  private readonly reserve: ((upTo: number) => void) | undefined;
  private readonly reserveAhead: number;

  /** @throws CryptoError BAD_ARGUMENT for out-of-range options */
  constructor(opts: OutboundSequenceOptions = {}) {
    const { start = 0, max = Number.MAX_SAFE_INTEGER, rekeyAfter = DEFAULT_REKEY_AFTER, reserveAhead = DEFAULT_RESERVATION_BLOCK } = opts;
    for (const [name, v] of [['start', start], ['max', max], ['rekeyAfter', rekeyAfter], ['reserveAhead', reserveAhead]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw new CryptoError('BAD_ARGUMENT', `sequence ${name} ${v}: need a safe non-negative integer`);
    }
    if (max < 1 || start > max || reserveAhead < 1) throw new CryptoError('BAD_ARGUMENT', `sequence start ${start} / max ${max} / block ${reserveAhead}`);
    this.lastUsed = start;
    this.reservedUpTo = opts.reserve ? start : max;
    this.max = max;
    this.rekeyAfter = rekeyAfter;
    this.reserve = opts.reserve;
    this.reserveAhead = reserveAhead;
  }

  /**
   * The next sequence number.
   * @throws CryptoError SEQUENCE_EXHAUSTED at the limit (the SA must be rekeyed)
   */
  next(): number {
    if (this.lastUsed >= this.max) throw new CryptoError('SEQUENCE_EXHAUSTED', `sequence numbers exhausted at ${this.max}: rekey`);
    const seq = this.lastUsed + 1;
    if (seq > this.reservedUpTo) {
      const bound = Math.min(this.max, this.reservedUpTo + this.reserveAhead);
      this.reserve?.(bound);
      this.reservedUpTo = bound;
    }
    this.lastUsed = seq;
    return seq;
  }

  /** The last number handed out (0 before the first). */
  get last(): number {
    return this.lastUsed;
  }

  /** The durable bound: a restart resumes from here (`start` of the next counter). */
  get reserved(): number {
    return this.reservedUpTo;
  }

  /** True once the counter passed the rekey threshold: time to rotate the network key. */
  get needsRekey(): boolean {
    return this.lastUsed >= this.rekeyAfter;
  }
}

/**
 * Anti-replay window for one inbound SA, with 64-bit extended sequence
 * numbers (RFC 4303 §3.4.3 and appendix A; RFC 4304).
 *
 * Storage is the RFC 6479 block bitmap: a ring of 32-bit blocks, one bit per
 * sequence number, indexed by `seq / 32 mod blocks`. Sliding forward clears
 * only the blocks the top moves into — no bit shifting — so a jump costs at
 * most one pass over the ring, and the ring keeps one spare block so the
 * whole window of `size` numbers below the top is always covered.
 *
 * Only the low 32 bits travel; {@link ReplayWindow.infer} reconstructs the
 * high half from the window position as RFC 4303 appendix A2.2 describes.
 *
 * Use: `check(lo)` before decrypting (cheap rejection), decrypt and verify
 * the ICV with the returned 64-bit number in the AAD, and only then
 * `accept(seq)` — the window must never move for a forged packet.
 *
 * Sequence numbers are JavaScript numbers: exact up to 2^53 − 1, which a
 * sender at 10 Mpps reaches after 28 years (senders rekey long before).
 */
import { CryptoError } from './errors.js';

/** Smallest window overlayd allows (the issue asks for at least 1,024). */
export const MIN_REPLAY_WINDOW = 1024;
/** Default window: wide enough for reordering across several worker queues. */
export const DEFAULT_REPLAY_WINDOW = 4096;
/** Largest window accepted (a 16 KiB bitmap). */
export const MAX_REPLAY_WINDOW = 131072;
/** `check` verdict: left of the window (or before sequence number 1). */
export const REPLAY_TOO_OLD = -1;
/** `check` verdict: inside the window and already accepted. */
export const REPLAY_DUPLICATE = -2;

const TWO_32 = 0x1_0000_0000;
const BLOCK_BITS = 32;

/** The 64-bit sequence number split as ESN sends and authenticates it. */
export const seqHigh = (seq: number): number => Math.floor(seq / TWO_32);
/** Low 32 bits of a sequence number (the part on the wire). */
export const seqLow = (seq: number): number => seq % TWO_32;

/** RFC 6479 sliding window of received sequence numbers for one SA. */
export class ReplayWindow {
  /** Number of sequence numbers at and below the top that are tracked. */
  readonly size: number;
  private readonly blocks: Uint32Array;
  private topSeq = 0;

  /**
   * @param size window in packets: a multiple of 32 within
   *   {@link MIN_REPLAY_WINDOW}..{@link MAX_REPLAY_WINDOW}
   * @throws CryptoError BAD_ARGUMENT
   */
  constructor(size: number = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isInteger(size) || size < MIN_REPLAY_WINDOW || size > MAX_REPLAY_WINDOW || size % BLOCK_BITS !== 0) {
      throw new CryptoError('BAD_ARGUMENT', `replay window ${size}: need a multiple of 32 in ${MIN_REPLAY_WINDOW}..${MAX_REPLAY_WINDOW}`);
    }
    this.size = size;
    this.blocks = new Uint32Array(size / BLOCK_BITS + 1);
  }

  /** Highest sequence number accepted so far; 0 before the first. */
  get top(): number {
    return this.topSeq;
  }

  /**
   * The 64-bit sequence number a packet carrying low half `lo` most likely
   * has (RFC 4303 A2.2): the one within `size` below the top or the nearest
   * one above it. May be < 1 (before the start) when the top is still in the
   * first 2^32 numbers.
   */
  infer(lo: number): number {
    const top = this.topSeq;
    const tl = top % TWO_32;
    const th = (top - tl) / TWO_32;
    const bottom = tl - this.size + 1;
    let hi: number;
    if (bottom >= 0) {
      // Case A: the window lies inside one 2^32 subspace.
      hi = lo >= bottom ? th : th + 1;
    } else {
      // Case B: the window straddles the subspace boundary below tl.
      hi = lo >= bottom + TWO_32 ? th - 1 : th;
    }
    return hi * TWO_32 + lo;
  }

  /**
   * Verdict on the full sequence number `seq` without changing the window:
   * `seq` itself when it may be accepted (new or unseen inside the window),
   * else {@link REPLAY_TOO_OLD} or {@link REPLAY_DUPLICATE}.
   */
  verdict(seq: number): number {
    if (!(seq >= 1 && seq <= Number.MAX_SAFE_INTEGER)) return REPLAY_TOO_OLD;
    const top = this.topSeq;
    if (seq > top) return seq;
    if (top - seq >= this.size) return REPLAY_TOO_OLD;
    const block = this.blocks[Math.floor(seq / BLOCK_BITS) % this.blocks.length];
    return (block >>> seq % BLOCK_BITS) & 1 ? REPLAY_DUPLICATE : seq;
  }

  /** {@link infer} then {@link verdict}: the 64-bit number to authenticate, or a negative verdict. */
  check(lo: number): number {
    return this.verdict(this.infer(lo));
  }

  /**
   * Records `seq` as received, sliding the window forward when it is above
   * the top. Call only after the packet authenticated, and only with a
   * number {@link verdict} allowed.
   */
  accept(seq: number): void {
    if (!(seq >= 1 && seq <= Number.MAX_SAFE_INTEGER)) return;
    const n = this.blocks.length;
    if (seq > this.topSeq) {
      const from = Math.floor(this.topSeq / BLOCK_BITS);
      const to = Math.floor(seq / BLOCK_BITS);
      if (to - from >= n) {
        this.blocks.fill(0);
      } else {
        for (let b = from + 1; b <= to; b++) this.blocks[b % n] = 0;
      }
      this.topSeq = seq;
    }
    this.blocks[Math.floor(seq / BLOCK_BITS) % n] |= 1 << seq % BLOCK_BITS;
  }

  /**
   * Starts the window at `top` as if every number up to it had been
   * received (a restarted receiver resuming from its checkpoint): only
   * numbers above `top` are accepted. 0 gives an empty window.
   */
  seed(top: number): void {
    this.reset();
    if (!(top >= 1 && top <= Number.MAX_SAFE_INTEGER)) return;
    this.blocks.fill(0xffffffff);
    // In the top's block only the numbers up to the top count as seen: those above are still to come.
    const bit = top % BLOCK_BITS;
    this.blocks[Math.floor(top / BLOCK_BITS) % this.blocks.length] = bit === 31 ? 0xffffffff : 2 ** (bit + 1) - 1;
    this.topSeq = top;
  }

  /** Forgets everything (as a new SA). */
  reset(): void {
    this.blocks.fill(0);
    this.topSeq = 0;
  }
}

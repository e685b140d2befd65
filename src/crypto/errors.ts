/**
 * The error type of src/crypto. Only configuration and sender-side calls
 * throw it (a bad key, an impossible SA or sequence number); the
 * receive path never throws — `openEsp` returns a drop reason instead.
 */

/**
 * Why a crypto call refused its arguments:
 * - `BAD_KEY`: key material of the wrong length, or a key tag outside 32 bits;
 * - `BAD_SA`: SPI, salt or address of a security association is impossible;
 * - `BAD_SEQUENCE`: a sequence number outside 1..2^53−1, or not an integer;
 * - `BAD_ARGUMENT`: any other argument out of range (window size, carrier, …).
 */
export type CryptoErrorCode =
  | 'BAD_KEY'
  | 'BAD_SA'
  | 'BAD_SEQUENCE'
  | 'BAD_ARGUMENT';

/** A refused crypto operation, with a stable `code`. */
export class CryptoError extends Error {
  /** Stable reason, safe to branch on. */
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'CryptoError';
    this.code = code;
  }
}

/** True when `e` is a {@link CryptoError} (optionally with the given code). */
export function isCryptoError(e: unknown, code?: CryptoErrorCode): e is CryptoError {
  return e instanceof CryptoError && (code === undefined || e.code === code);
}

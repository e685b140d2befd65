/**
 * The error type of src/crypto. Only configuration and sender-side calls
 * throw it (a bad key, an exhausted sequence counter, a keyring misuse); the
 * receive path never throws — `openEsp` returns a drop reason instead.
 */

/**
 * Why a crypto call refused its arguments:
 * - `BAD_KEY`: key material of the wrong length, or a key tag outside 32 bits;
 * - `BAD_SA`: SPI, salt or address of a security association is impossible;
 * - `BAD_SEQUENCE`: a sequence number outside 1..2^53−1, or not an integer;
 * - `SEQUENCE_EXHAUSTED`: the sender's counter reached its limit: rekey;
 * - `BAD_ARGUMENT`: any other argument out of range (window size, interval, …);
 * - `KEY_NOT_INSTALLED`: a keyring operation names a tag the ring does not hold;
 * - `KEY_IN_USE`: removing the sending key, or reusing a tag for other material.
 */
export type CryptoErrorCode =
  | 'BAD_KEY'
  | 'BAD_SA'
  | 'BAD_SEQUENCE'
  | 'SEQUENCE_EXHAUSTED'
  | 'BAD_ARGUMENT'
  | 'KEY_NOT_INSTALLED'
  | 'KEY_IN_USE';

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

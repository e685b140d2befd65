/**
 * The one error type every codec in src/wire throws. Callers branch on
 * `code`, never on the message text.
 */

/**
 * Why a decoder or encoder refused its input:
 * - `TRUNCATED`: the input ends before the structure (or a length it declares) does;
 * - `BAD_LENGTH`: a length field, or an argument's length, is impossible;
 * - `BAD_VERSION`: an IP version nibble or a file-format version is not the expected one;
 * - `BAD_VALUE`: a field or argument holds a value this codec does not accept;
 * - `BAD_CHECKSUM`: a checksum that the codec was asked to enforce does not match.
 */
export type WireErrorCode = 'TRUNCATED' | 'BAD_LENGTH' | 'BAD_VERSION' | 'BAD_VALUE' | 'BAD_CHECKSUM';

/** A malformed packet, address or file, with a stable `code`. */
export class WireError extends Error {
  /** Stable reason, safe to branch on and to count. */
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string) {
    super(message);
    this.name = 'WireError';
    this.code = code;
  }
}

/** True when `e` is a {@link WireError} (optionally with the given code). */
export function isWireError(e: unknown, code?: WireErrorCode): e is WireError {
  return e instanceof WireError && (code === undefined || e.code === code);
}

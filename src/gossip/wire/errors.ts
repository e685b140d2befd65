/**
 * Typed errors of the gossip wire layer.
 *
 * Every decoder in `src/gossip/wire/` reports bad input by throwing a
 * {@link GossipWireError} whose `code` names the reason; the packet loop in the
 * engine catches it and counts the drop under that code. Nothing else is
 * thrown for bad input (fuzzed by `scripts/fuzz-gossip.ts`).
 */

/** Stable reasons for refusing bytes from the network. */
export type GossipWireErrorCode =
  /** The input ended before a complete value, header or frame. */
  | 'TRUNCATED'
  /** Bytes that are not valid msgpack (reserved byte, ext type, nesting too deep). */
  | 'BAD_MSGPACK'
  /** Valid msgpack, but a field has the wrong type or range for its Go type. */
  | 'BAD_FIELD'
  /** The CRC32 of a hasCrc frame does not match its payload. */
  | 'BAD_CRC'
  /** No key of the keyring opens the message, or the encryption header is bad. */
  | 'DECRYPT_FAILED'
  /** Encryption is required (verify-incoming) but the input is plaintext. */
  | 'NOT_ENCRYPTED'
  /** The label header is malformed, or its label differs from ours. */
  | 'BAD_LABEL'
  /** A message type byte (or compression algorithm) we do not know. */
  | 'UNKNOWN_TYPE'
  /** A size or count beyond our limits (compound parts, stream bytes, decompressed size). */
  | 'TOO_LARGE'
  /** An LZW stream that Go's compress/lzw would refuse. */
  | 'BAD_COMPRESSION'
  /** A stream read that did not finish within its time limit. */
  | 'TIMEOUT';

/** An input the wire layer refuses; `code` is stable and meant for counters. */
export class GossipWireError extends Error {
  /** Why the input was refused. */
  readonly code: GossipWireErrorCode;

  /** @param code stable reason; @param message human detail for logs. */
  constructor(code: GossipWireErrorCode, message: string) {
    super(message);
    this.name = 'GossipWireError';
    this.code = code;
  }
}

/** Shorthand used by the decoders: throw a {@link GossipWireError}. */
export function wireError(code: GossipWireErrorCode, message: string): never {
  throw new GossipWireError(code, message);
}

/**
 * The gossip keyring, as memberlist's Keyring: AES keys of 16, 24 or 32
 * bytes; `keys()[0]` is the primary key that encrypts everything we send;
 * every key is tried, primary first, on what we receive. Keys can be added,
 * promoted and removed at run time (key rotation without downtime).
 */

/** Stable reasons a keyring operation is refused. */
export type KeyringErrorCode = 'BAD_KEY_SIZE' | 'KEY_NOT_FOUND' | 'REMOVE_PRIMARY' | 'NO_PRIMARY';

/** A refused keyring operation. */
export class KeyringError extends Error {
  /** Why the operation was refused. */
  readonly code: KeyringErrorCode;
  /** @param code stable reason; @param message detail for logs. */
  constructor(code: KeyringErrorCode, message: string) {
    super(message);
    this.name = 'KeyringError';
    this.code = code;
  }
}

/** Throws BAD_KEY_SIZE unless `key` is 16, 24 or 32 bytes (AES-128/192/256). */
export function validateKey(key: Uint8Array): void {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new KeyringError('BAD_KEY_SIZE', `key size must be 16, 24 or 32 bytes, not ${key.length}`);
  }
}

/** Ordered set of AES-GCM keys; index 0 is the primary. */
export class Keyring {
  private ring: Buffer[] = [];

  /**
   * Without keys and primary: an empty ring (encryption off). With keys, a
   * primary must be given; it is added first when missing from `keys`.
   * A primary alone is enough.
   */
  constructor(keys: Buffer[] = [], primary?: Buffer) {
    if (keys.length === 0 && (!primary || primary.length === 0)) return;
    if (!primary || primary.length === 0) throw new KeyringError('NO_PRIMARY', 'empty primary key not allowed');
    this.addKey(primary);
    for (const key of keys) this.addKey(key);
  }

  /** Installs a key for decryption; a no-op when present. The first key becomes primary. */
  addKey(key: Buffer): void {
    validateKey(key);
    if (this.ring.some((k) => k.equals(key))) return;
    this.ring.push(Buffer.from(key));
  }

  /** Makes an installed key the primary (the one we encrypt with). */
  useKey(key: Buffer): void {
    const index = this.ring.findIndex((k) => k.equals(key));
    if (index < 0) throw new KeyringError('KEY_NOT_FOUND', 'requested key is not in the keyring');
    const [found] = this.ring.splice(index, 1);
    this.ring.unshift(found!);
  }

  /** Drops a key; removing the primary is refused (promote another one first). */
  removeKey(key: Buffer): void {
    if (this.ring.length > 0 && this.ring[0]!.equals(key)) {
      throw new KeyringError('REMOVE_PRIMARY', 'removing the primary key is not allowed');
    }
    this.ring = this.ring.filter((k) => !k.equals(key));
  }

  /** The key that encrypts outgoing messages, or undefined on an empty ring. */
  primaryKey(): Buffer | undefined {
    return this.ring[0];
  }

  /** All keys, primary first (the order tried when decrypting); a copy of the list. */
  keys(): Buffer[] {
    return [...this.ring];
  }

  /** True when the ring holds a key, i.e. encryption is enabled (Go's `EncryptionEnabled`). */
  get enabled(): boolean {
    return this.ring.length > 0;
  }
}

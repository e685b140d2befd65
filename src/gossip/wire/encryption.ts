/**
 * AES-GCM payload encryption as memberlist's security.go does it.
 *
 * Layout: `[vsn][12-byte nonce][ciphertext][16-byte tag]`. Version 0 pads
 * the plaintext with PKCS#7 to the AES block size first (protocol 1
 * peers); version 1 (protocol ≥ 2) does not pad. The additional data is the
 * label for packets, and `[10][u32 length]` + label for streams.
 */
import { createCipheriv, createDecipheriv, randomFillSync, type CipherGCMTypes } from 'node:crypto';
import { wireError } from './errors.js';

/** Encryption layout versions (security.go `encryptionVersion`). */
export type EncryptionVersion = 0 | 1;

const VERSION_SIZE = 1;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const BLOCK_SIZE = 16;

/** Bytes `encryptPayload` adds at most: 29 for version 1, 45 for version 0. */
export function encryptOverhead(vsn: EncryptionVersion): number {
  return vsn === 0 ? VERSION_SIZE + NONCE_SIZE + BLOCK_SIZE + TAG_SIZE : VERSION_SIZE + NONCE_SIZE + TAG_SIZE;
}

/** Exact size of an encrypted payload of `plainLength` bytes (Go's `encryptedLength`). */
export function encryptedLength(vsn: EncryptionVersion, plainLength: number): number {
  if (vsn >= 1) return VERSION_SIZE + NONCE_SIZE + plainLength + TAG_SIZE;
  return VERSION_SIZE + NONCE_SIZE + plainLength + (BLOCK_SIZE - (plainLength % BLOCK_SIZE)) + TAG_SIZE;
}

function algorithm(key: Uint8Array): CipherGCMTypes {
  switch (key.length) {
    case 16:
      return 'aes-128-gcm';
    case 24:
      return 'aes-192-gcm';
    case 32:
      return 'aes-256-gcm';
    default:
      throw new RangeError(`AES key must be 16, 24 or 32 bytes, not ${key.length}`);
  }
}

/**
 * Encrypts `plain` with `key`. `nonce` is for tests only (golden vectors);
 * left out, a random one is drawn as Go does.
 */
export function encryptPayload(
  vsn: EncryptionVersion,
  key: Buffer,
  plain: Buffer,
  aad: Buffer,
  nonce?: Buffer,
): Buffer {
  let source = plain;
  if (vsn === 0) {
    const pad = BLOCK_SIZE - (plain.length % BLOCK_SIZE);
    source = Buffer.alloc(plain.length + pad, pad);
    plain.copy(source);
  }
  const out = Buffer.allocUnsafe(VERSION_SIZE + NONCE_SIZE + source.length + TAG_SIZE);
  out[0] = vsn;
  const iv = out.subarray(VERSION_SIZE, VERSION_SIZE + NONCE_SIZE);
  if (nonce) nonce.copy(iv, 0, 0, NONCE_SIZE);
  else randomFillSync(iv);
  const cipher = createCipheriv(algorithm(key), key, iv, { authTagLength: TAG_SIZE });
  cipher.setAAD(aad);
  let offset = VERSION_SIZE + NONCE_SIZE;
  offset += cipher.update(source).copy(out, offset);
  offset += cipher.final().copy(out, offset);
  cipher.getAuthTag().copy(out, offset);
  return out;
}

function openWith(key: Buffer, msg: Buffer, aad: Buffer): Buffer | null {
  try {
    const iv = msg.subarray(VERSION_SIZE, VERSION_SIZE + NONCE_SIZE);
    const decipher = createDecipheriv(algorithm(key), key, iv, { authTagLength: TAG_SIZE });
    decipher.setAAD(aad);
    decipher.setAuthTag(msg.subarray(msg.length - TAG_SIZE));
    const body = decipher.update(msg.subarray(VERSION_SIZE + NONCE_SIZE, msg.length - TAG_SIZE));
    const rest = decipher.final();
    return rest.length === 0 ? body : Buffer.concat([body, rest]);
  } catch {
    return null;
  }
}

/**
 * Decrypts a payload trying every key in order; strips version-0 padding.
 * Throws DECRYPT_FAILED for an unknown version, a too short payload, bad
 * padding, or when no key opens it.
 */
export function decryptPayload(keys: readonly Buffer[], msg: Buffer, aad: Buffer): Buffer {
  if (msg.length === 0) wireError('DECRYPT_FAILED', 'cannot decrypt an empty payload');
  const vsn = msg[0]!;
  if (vsn > 1) wireError('DECRYPT_FAILED', `unsupported encryption version ${vsn}`);
  if (msg.length < encryptedLength(vsn as EncryptionVersion, 0)) {
    wireError('DECRYPT_FAILED', `payload is too small to decrypt: ${msg.length}`);
  }
  for (const key of keys) {
    const plain = openWith(key, msg, aad);
    if (!plain) continue;
    if (vsn === 1) return plain;
    // PKCS#7: Go trusts the last byte; we refuse what would make Go panic.
    const pad = plain.length > 0 ? plain[plain.length - 1]! : 0;
    if (pad === 0 || pad > BLOCK_SIZE || pad > plain.length) wireError('DECRYPT_FAILED', 'bad PKCS#7 padding');
    return plain.subarray(0, plain.length - pad);
  }
  return wireError('DECRYPT_FAILED', 'no installed keys could decrypt the message');
}

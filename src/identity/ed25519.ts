/**
 * Ed25519 through libsodium (libsodium-wrappers, WebAssembly): key pairs from
 * a 32-byte seed, detached signatures, verification. libsodium loads
 * asynchronously: `await sodiumReady()` once (the agent at start, the CLI
 * before a command), after which everything here is synchronous.
 */
import sodium from 'libsodium-wrappers';
import { IdentityError } from './errors.js';

let ready = false;

export async function sodiumReady(): Promise<void> {
  await sodium.ready;
  ready = true;
}

function lib(): typeof sodium {
  if (!ready) throw new IdentityError('NOT_READY', 'libsodium is not loaded yet (await sodiumReady())');
  return sodium;
}

export const SEED_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface SigningKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
  /** libsodium's 64-byte secret key (seed ‖ public key). */
  secretKey: Uint8Array;
}

export function keyFromSeed(seed: Uint8Array): SigningKey {
  if (seed.length !== SEED_BYTES) throw new IdentityError('BAD_KEY', `an Ed25519 seed is ${SEED_BYTES} bytes, not ${seed.length}`);
  const kp = lib().crypto_sign_seed_keypair(seed);
  return { seed, publicKey: kp.publicKey, secretKey: kp.privateKey };
}

export function newKey(): SigningKey {
  return keyFromSeed(lib().randombytes_buf(SEED_BYTES));
}

export function sign(key: SigningKey, message: Uint8Array): Uint8Array {
  return lib().crypto_sign_detached(message, key.secretKey);
}

/** Whether `signature` is `publicKey`'s over `message`; false for malformed input, never a throw. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return lib().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/**
 * SA derivation: every host computes the same SPI, AES key and salt for the
 * traffic from `src` to `dst` under a network key, with no negotiation.
 * docs/encryption.md states the construction for other implementations:
 *
 *     okm  = HKDF-SHA256(IKM  = network key material,
 *                        salt = "overlayd/esp/v1" (ASCII, 15 bytes),
 *                        info = src16 ‖ dst16 ‖ tag (u32 BE) ‖ key bits (u16 BE),
 *                        L    = keySize + 8)
 *     AES key = okm[0 .. keySize)     salt = okm[keySize .. keySize+4)
 *     SPI     = 256 + (u32 BE of okm[keySize+4 .. keySize+8)) mod (2^32 − 256)
 *
 * where src16/dst16 are the outer addresses as 16 bytes (IPv4 as
 * IPv4-mapped IPv6, ::ffff:a.b.c.d). Unlike Docker (SPI = FNV-1a of the same
 * inputs, salt = SPI, one AES key for every pair), each SA — each direction
 * of each pair under each key — has its own key and a salt nobody can predict
 * without the network key.
 */
import { hkdfSync, randomBytes, createHash } from 'node:crypto';
import { CryptoError } from './errors.js';
import { type AesKeySize, MIN_DERIVED_SPI, SecurityAssociation } from './sa.js';

/** HKDF salt: fixes the purpose and version of the derivation. */
export const SA_DERIVATION_SALT = Buffer.from('overlayd/esp/v1', 'ascii');
/** Shortest network key material accepted. */
export const MIN_NETWORK_KEY_LENGTH = 16;
/** Length of the key material {@link generateNetworkKey} makes. */
export const NETWORK_KEY_LENGTH = 32;

/** A network key as the cluster distributes it: secret material and a 32-bit tag naming it. */
export interface NetworkKey {
  /** Names the key in SPI derivation and in the keyring (e.g. the Lamport time it was made at). */
  tag: number;
  /** Secret, at least 16 bytes (32 when generated here). */
  material: Uint8Array;
}

/**
 * The keys of one network as the data path takes them: the ring (oldest
 * first; all accepted on receive) and the tag of the one it sends with.
 */
export interface KeyringState {
  keys: NetworkKey[];
  sendTag: number;
}

/** Inputs of one SA derivation. */
export interface SaDerivation {
  /** Network key. */
  key: NetworkKey;
  /** Outer source address of the traffic (the sender's VTEP), 4 or 16 bytes. */
  src: Uint8Array;
  /** Outer destination address (the receiver's VTEP), 4 or 16 bytes. */
  dst: Uint8Array;
  /** AES key size: 16 (default) or 32. */
  keySize?: AesKeySize;
}

/**
 * An address as the 16 bytes the derivation hashes: IPv6 as is, IPv4 as
 * IPv4-mapped IPv6.
 * @throws CryptoError BAD_SA for another length
 */
export function address16(a: Uint8Array): Buffer {
  if (a.length === 16) return Buffer.from(a);
  if (a.length !== 4) throw new CryptoError('BAD_SA', `address of ${a.length} bytes: need 4 or 16`);
  const out = Buffer.alloc(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(a, 12);
  return out;
}

/** Checks a network key's tag and material. @throws CryptoError BAD_KEY */
export function checkNetworkKey(key: NetworkKey): void {
  if (!Number.isInteger(key.tag) || key.tag < 0 || key.tag > 0xffffffff) throw new CryptoError('BAD_KEY', `key tag ${key.tag}: need 0..2^32−1`);
  if (key.material.length < MIN_NETWORK_KEY_LENGTH) {
    throw new CryptoError('BAD_KEY', `network key of ${key.material.length} bytes: need at least ${MIN_NETWORK_KEY_LENGTH}`);
  }
}

/** The HKDF `info` of a derivation (exported for documentation tests and other implementations). */
export function saDerivationInfo(src: Uint8Array, dst: Uint8Array, tag: number, keySize: AesKeySize): Buffer {
  const info = Buffer.alloc(38);
  address16(src).copy(info, 0);
  address16(dst).copy(info, 16);
  info.writeUInt32BE(tag, 32);
  info.writeUInt16BE(keySize * 8, 36);
  return info;
}

/**
 * Derives the SA for traffic `src` → `dst` under `key` (see the file comment).
 * Deterministic: every host gets the same SA from the same inputs.
 * @throws CryptoError BAD_KEY, BAD_SA
 */
export function deriveSa(d: SaDerivation): SecurityAssociation {
  const keySize = d.keySize ?? 16;
  if (keySize !== 16 && keySize !== 32) throw new CryptoError('BAD_KEY', `AES key size ${String(keySize)}: need 16 or 32`);
  checkNetworkKey(d.key);
  const info = saDerivationInfo(d.src, d.dst, d.key.tag, keySize);
  const okm = Buffer.from(hkdfSync('sha256', d.key.material, SA_DERIVATION_SALT, info, keySize + 8));
  const word = okm.readUInt32BE(keySize + 4);
  const spi = MIN_DERIVED_SPI + (word % (0x1_0000_0000 - MIN_DERIVED_SPI));
  return new SecurityAssociation({
    spi,
    key: okm.subarray(0, keySize),
    salt: okm.subarray(keySize, keySize + 4),
    src: d.src,
    dst: d.dst,
    keyTag: d.key.tag,
  });
}

/**
 * A tag for key material that has none assigned: the first 4 bytes of
 * SHA-256("overlayd key tag" ‖ material), big-endian.
 */
export function keyTagOf(material: Uint8Array): number {
  return createHash('sha256').update('overlayd key tag').update(material).digest().readUInt32BE(0);
}

/** Fresh random network key (32 bytes), tagged `tag` or {@link keyTagOf} its material. */
export function generateNetworkKey(tag?: number): NetworkKey {
  const material = randomBytes(NETWORK_KEY_LENGTH);
  const key = { tag: tag ?? keyTagOf(material), material };
  checkNetworkKey(key);
  return key;
}

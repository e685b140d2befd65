/**
 * A security association: everything `sealEsp`/`openEsp` need to protect one
 * direction of traffic between two hosts under one network key — SPI, AES key,
 * 4-byte salt (RFC 4106 §4) — plus, for export and logs, the addresses and
 * key tag it was derived from. Immutable; the scratch buffers it carries are
 * reused by every packet so the hot path allocates nothing for nonce or AAD.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { CryptoError } from './errors.js';

/** AES key sizes overlayd offers: 16 bytes (the default, as Docker) or 32. */
export type AesKeySize = 16 | 32;
/** The AEAD cipher of an SA, in node:crypto's spelling. */
export type EspCipherName = 'aes-128-gcm' | 'aes-256-gcm';
/** Bytes of the RFC 4106 salt, the implicit first part of the nonce. */
export const ESP_SALT_LENGTH = 4;
/** SPIs 1..255 are reserved by IANA (RFC 4303 §2.1); derived SPIs start here. */
export const MIN_DERIVED_SPI = 256;

/** What an SA is made of. */
export interface SecurityAssociationParams {
  /** 32-bit SPI, non-zero. */
  spi: number;
  /** AES key, 16 or 32 bytes. */
  key: Uint8Array;
  /** 4-byte RFC 4106 salt. */
  salt: Uint8Array;
  /** Outer source address (4 or 16 bytes) — informational, for export and logs. */
  src?: Uint8Array;
  /** Outer destination address (4 or 16 bytes) — informational. */
  dst?: Uint8Array;
  /** Tag of the network key the SA was derived from — informational. */
  keyTag?: number;
  /**
   * 64-bit extended sequence numbers (RFC 4304), the default and what overlayd
   * uses. `false` gives classic 32-bit ESP (AAD = SPI ‖ seq), for peers and
   * tools without ESN — Wireshark 4.0 checks ICVs only in that form.
   */
  esn?: boolean;
}

/** One direction of protected traffic: SPI, AES-GCM key and salt. */
export class SecurityAssociation {
  readonly spi: number;
  /** Copy of the AES key. */
  readonly key: Buffer;
  /** Copy of the salt. */
  readonly salt: Buffer;
  readonly cipher: EspCipherName;
  readonly src: Buffer | undefined;
  readonly dst: Buffer | undefined;
  readonly keyTag: number | undefined;
  /** Extended sequence numbers: the AAD carries the high half too. */
  readonly esn: boolean;
  /** The key as a KeyObject, so ciphers are created without re-importing it. @internal */
  readonly keyObject: KeyObject;
  /** Nonce scratch: salt ‖ 8-byte IV; bytes 4..12 are rewritten per packet. @internal */
  readonly nonce: Buffer;
  /**
   * AAD scratch, rewritten per packet after the SPI: SPI ‖ seq high ‖ seq low
   * with ESN (12 bytes), SPI ‖ seq (8 bytes) without. @internal
   */
  readonly aad: Buffer;

  /** @throws CryptoError BAD_SA (SPI, salt or address), BAD_KEY (key length) */
  constructor(p: SecurityAssociationParams) {
    if (!Number.isInteger(p.spi) || p.spi < 1 || p.spi > 0xffffffff) throw new CryptoError('BAD_SA', `SPI ${p.spi}: need 1..2^32−1`);
    if (p.key.length !== 16 && p.key.length !== 32) throw new CryptoError('BAD_KEY', `AES key of ${p.key.length} bytes: need 16 or 32`);
    if (p.salt.length !== ESP_SALT_LENGTH) throw new CryptoError('BAD_SA', `salt of ${p.salt.length} bytes: need 4`);
    for (const [name, a] of [['src', p.src], ['dst', p.dst]] as const) {
      if (a !== undefined && a.length !== 4 && a.length !== 16) throw new CryptoError('BAD_SA', `${name} address of ${a.length} bytes`);
    }
    if (p.keyTag !== undefined && (!Number.isInteger(p.keyTag) || p.keyTag < 0 || p.keyTag > 0xffffffff)) {
      throw new CryptoError('BAD_KEY', `key tag ${p.keyTag}: need 0..2^32−1`);
    }
    this.spi = p.spi;
    this.key = Buffer.from(p.key);
    this.salt = Buffer.from(p.salt);
    this.cipher = p.key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
    this.src = p.src && Buffer.from(p.src);
    this.dst = p.dst && Buffer.from(p.dst);
    this.keyTag = p.keyTag;
    this.esn = p.esn ?? true;
    this.keyObject = createSecretKey(this.key);
    this.nonce = Buffer.alloc(12);
    this.salt.copy(this.nonce, 0);
    this.aad = Buffer.alloc(this.esn ? 12 : 8);
    this.aad.writeUInt32BE(this.spi, 0);
  }

  /** AES key size in bytes. */
  get keySize(): AesKeySize {
    return this.key.length as AesKeySize;
  }
}

/**
 * ESP with AES-GCM (RFC 4303 + RFC 4106), 64-bit extended sequence numbers
 * (RFC 4304), transport mode: the protected payload is the VXLAN UDP datagram
 * (UDP header + VXLAN header + inner frame, next header 17).
 *
 *     seal:  SPI | seq lo | IV = seq (8 bytes BE) | AES-GCM(payload | 1,2,3… | pad len | nh) | ICV 16
 *            nonce = salt ‖ IV        AAD = SPI ‖ seq hi ‖ seq lo
 *     open:  length → SPI → replay window (infer seq hi, reject old/duplicate)
 *            → decrypt + verify ICV → accept into the window → check padding
 *
 * The IV is the 64-bit sequence number, so it never repeats under a key while
 * the sender's counter only grows; `sealEsp` is a pure function of (SA, seq,
 * payload, next header), which the native path is differentially tested
 * against. `openEsp` never throws: it returns the payload or a stable drop
 * reason to count.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import {
  ESP_GCM_ICV_LENGTH,
  ESP_GCM_IV_LENGTH,
  ESP_HEADER_LENGTH,
  espMinimumLength,
  espPadLength,
  espPayloadLength,
  writeEspTrailer,
} from '../wire/index.js';
import { CryptoError } from './errors.js';
import { REPLAY_DUPLICATE, type ReplayWindow, seqHigh, seqLow } from './replay-window.js';
import type { SecurityAssociation } from './sa.js';

/** Why `openEsp` dropped a packet. Names are stable: they are counter names. */
export const ESP_DROP_REASONS = ['esp_truncated', 'esp_bad_spi', 'esp_replay', 'esp_bad_icv', 'esp_bad_padding', 'esp_too_old'] as const;
/** One of {@link ESP_DROP_REASONS}. */
export type EspDropReason = (typeof ESP_DROP_REASONS)[number];

/** Next header of overlayd's protected payload: UDP (carrying VXLAN). */
export const ESP_NEXT_HEADER_UDP = 17;
/** Bytes between the start of an ESP packet and its ciphertext: header + IV. */
export const ESP_GCM_PREFIX_LENGTH = ESP_HEADER_LENGTH + ESP_GCM_IV_LENGTH;
/** Smallest ESP packet `openEsp` can accept (34 bytes: empty payload, no padding). */
export const ESP_GCM_MIN_LENGTH = espMinimumLength();
/** Largest sequence number a sender may use (exact in a JavaScript number). */
export const ESP_MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** A packet `openEsp` accepted. */
export interface OpenedEsp {
  /** The decrypted payload (without padding and trailer); a view of a fresh buffer. */
  payload: Buffer;
  /** The trailer's next header (17 for overlayd; 59 marks a dummy packet to discard). */
  nextHeader: number;
  /** The full 64-bit sequence number the packet authenticated with. */
  seq: number;
}

/** Length of the ESP packet `sealEsp` makes for a payload of `payloadLength` bytes. */
export function sealedLength(payloadLength: number): number {
  return ESP_GCM_PREFIX_LENGTH + payloadLength + espPadLength(payloadLength) + 2 + ESP_GCM_ICV_LENGTH;
}

/** Writes the 64-bit `seq` big-endian at `offset` (exact for seq < 2^53). */
function writeSeq64(buf: Buffer, offset: number, seq: number): void {
  buf.writeUInt32BE(seqHigh(seq), offset);
  buf.writeUInt32BE(seqLow(seq), offset + 4);
}

/** Fills the SA's AAD scratch for `seq`: SPI ‖ hi ‖ lo (ESN) or SPI ‖ lo. */
function setAad(sa: SecurityAssociation, seq: number): Buffer {
  if (sa.esn) writeSeq64(sa.aad, 4, seq);
  else sa.aad.writeUInt32BE(seqLow(seq), 4);
  return sa.aad;
}

/** Largest sequence number an SA can use: 2^53−1 with ESN, 2^32−1 without. */
export const maxSequence = (sa: SecurityAssociation): number => (sa.esn ? ESP_MAX_SEQUENCE : 0xffffffff);

/**
 * Encrypts `payload` for `sa` with sequence number `seq` (1..2^53−1, never
 * reused under this SA) and returns the ESP packet: the bytes after the
 * outer IP header (protocol 50) or after the outer UDP header (ESP-in-UDP).
 * Deterministic in its arguments.
 * @throws CryptoError BAD_SEQUENCE (seq out of range), BAD_ARGUMENT (next header out of 0..255)
 */
export function sealEsp(sa: SecurityAssociation, seq: number, payload: Uint8Array, nextHeader: number = ESP_NEXT_HEADER_UDP): Buffer {
  if (!Number.isInteger(seq) || seq < 1 || seq > maxSequence(sa)) {
    throw new CryptoError('BAD_SEQUENCE', `sequence number ${seq}: need 1..${sa.esn ? '2^53' : '2^32'}−1`);
  }
  if (!Number.isInteger(nextHeader) || nextHeader < 0 || nextHeader > 0xff) throw new CryptoError('BAD_ARGUMENT', `next header ${nextHeader}`);
  const padLength = espPadLength(payload.length);
  const plainLength = payload.length + padLength + 2;
  const out = Buffer.allocUnsafe(ESP_GCM_PREFIX_LENGTH + plainLength + ESP_GCM_ICV_LENGTH);
  out.writeUInt32BE(sa.spi, 0);
  out.writeUInt32BE(seqLow(seq), 4);
  writeSeq64(out, ESP_HEADER_LENGTH, seq);
  out.set(payload, ESP_GCM_PREFIX_LENGTH);
  writeEspTrailer(out, ESP_GCM_PREFIX_LENGTH + payload.length, padLength, nextHeader);

  out.copy(sa.nonce, 4, ESP_HEADER_LENGTH, ESP_GCM_PREFIX_LENGTH);
  const cipher = createCipheriv(sa.cipher, sa.keyObject, sa.nonce, { authTagLength: ESP_GCM_ICV_LENGTH });
  cipher.setAAD(setAad(sa, seq));
  const plainEnd = ESP_GCM_PREFIX_LENGTH + plainLength;
  const encrypted = cipher.update(out.subarray(ESP_GCM_PREFIX_LENGTH, plainEnd));
  encrypted.copy(out, ESP_GCM_PREFIX_LENGTH);
  cipher.final();
  cipher.getAuthTag().copy(out, plainEnd);
  return out;
}

/** The drop reason of a negative replay-window verdict. */
const windowReason = (verdict: number): EspDropReason => (verdict === REPLAY_DUPLICATE ? 'esp_replay' : 'esp_too_old');

/**
 * Decrypts with the 64-bit sequence number `seq` in the AAD; the plaintext
 * (payload + padding + trailer) or null when the ICV does not verify.
 */
function decrypt(sa: SecurityAssociation, packet: Buffer, seq: number): Buffer | null {
  const icvStart = packet.length - ESP_GCM_ICV_LENGTH;
  packet.copy(sa.nonce, 4, ESP_HEADER_LENGTH, ESP_GCM_PREFIX_LENGTH);
  const decipher = createDecipheriv(sa.cipher, sa.keyObject, sa.nonce, { authTagLength: ESP_GCM_ICV_LENGTH });
  decipher.setAAD(setAad(sa, seq));
  decipher.setAuthTag(packet.subarray(icvStart));
  const plain = decipher.update(packet.subarray(ESP_GCM_PREFIX_LENGTH, icvStart));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return plain;
}

/**
 * Authenticates and decrypts the ESP packet `packet` (from the SPI to the end
 * of the ICV) received on `sa`, checking and then updating `window`.
 *
 * The high half of the sequence number comes from the window (RFC 4303 A2.2).
 * When that does not authenticate and the IV holds a different 64-bit number
 * with the same low half — overlayd senders put the sequence number there —
 * that number is tried too, if the window allows it: this resynchronises a
 * receiver whose window restarted while the sender was past 2^32 packets,
 * at the cost of one extra decryption, never of security (the ICV decides).
 *
 * Returns the opened packet, or the reason to drop it. Never throws.
 */
export function openEsp(sa: SecurityAssociation, window: ReplayWindow, packet: Uint8Array): OpenedEsp | EspDropReason {
  if (packet.length < ESP_GCM_MIN_LENGTH) return 'esp_truncated';
  const p = Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (p.readUInt32BE(0) !== sa.spi) return 'esp_bad_spi';
  const lo = p.readUInt32BE(4);
  // Without ESN the number on the wire is the whole sequence number.
  let seq = sa.esn ? window.check(lo) : window.verdict(lo);
  let reason: EspDropReason | null = seq > 0 ? null : windowReason(seq);
  let plain: Buffer | null = null;
  if (seq > 0) {
    plain = decrypt(sa, p, seq);
    if (plain === null) reason = 'esp_bad_icv';
  }
  if (plain === null && sa.esn && p.readUInt32BE(ESP_HEADER_LENGTH + 4) === lo) {
    const fromIv = p.readUInt32BE(ESP_HEADER_LENGTH) * 0x1_0000_0000 + lo;
    if (fromIv !== window.infer(lo)) {
      const verdict = window.verdict(fromIv);
      if (verdict > 0) {
        plain = decrypt(sa, p, fromIv);
        seq = fromIv;
        if (plain === null) reason = 'esp_bad_icv';
      } else {
        // The IV names a number the window refuses: the likelier story for a
        // packet that failed under the window's reading (e.g. far behind).
        reason = windowReason(verdict);
      }
    }
  }
  if (plain === null) return reason ?? 'esp_bad_icv';
  // Authentic: the window moves even if the trailer turns out malformed (RFC 4303 §3.4.3).
  window.accept(seq);
  const payloadLength = espPayloadLength(plain, 0, plain.length);
  if (payloadLength < 0) return 'esp_bad_padding';
  return { payload: plain.subarray(0, payloadLength), nextHeader: plain[plain.length - 1], seq };
}

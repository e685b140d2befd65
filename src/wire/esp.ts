/**
 * ESP (RFC 4303) framing, without the cryptography: the 8-byte header (SPI,
 * low half of the sequence number), the explicit IV, the trailer (padding,
 * pad length, next header) and the ICV; and the RFC 3948 rule that tells
 * ESP-in-UDP apart from IKE and NAT keep-alives. The AEAD itself lives in
 * src/crypto.
 *
 *     0               4               8                    8+iv
 *     | SPI           | sequence (lo) | IV (8 for RFC 4106) | ciphertext … | ICV (16) |
 *     ciphertext = payload | padding 1,2,3… | pad length | next header
 */
import { asBuffer, messageLength, need, requireUint } from './bounds.js';
import { WireError } from './errors.js';

/** SPI + sequence number. */
export const ESP_HEADER_LENGTH = 8;
/** Explicit IV of AES-GCM for ESP (RFC 4106 §3.1). */
export const ESP_GCM_IV_LENGTH = 8;
/** Full-length ICV of AES-GCM (RFC 4106 allows 8, 12 or 16; overlayd sends 16). */
export const ESP_GCM_ICV_LENGTH = 16;
/** Pad length + next header. */
export const ESP_TRAILER_LENGTH = 2;
/** Largest pad length a trailer can state. */
export const ESP_MAX_PAD_LENGTH = 255;
/** "No next header": a dummy packet (RFC 4303 §2.6), to be discarded by the receiver. */
export const ESP_NEXT_HEADER_DUMMY = 59;
/** IANA port for ESP-in-UDP and IKE NAT traversal (RFC 3948). */
export const ESP_IN_UDP_DEFAULT_PORT = 4500;

/** The cleartext header of an ESP packet. */
export interface EspHeader {
  /** Security Parameters Index, 1..2^32−1 (0 is reserved and refused). */
  spi: number;
  /** Low 32 bits of the sequence number (the high half, with ESN, is never sent). */
  seq: number;
}

/** An ESP packet cut into its parts; `iv`, `ciphertext` and `icv` alias the input. */
export interface EspPacket extends EspHeader {
  iv: Buffer;
  /** Encrypted payload + padding + pad length + next header. */
  ciphertext: Buffer;
  icv: Buffer;
}

/** Lengths of the algorithm-dependent parts of a packet. */
export interface EspLayout {
  /** Explicit IV bytes after the header (default 8, AES-GCM). */
  ivLength?: number;
  /** ICV bytes at the end (default 16). */
  icvLength?: number;
}

/**
 * Smallest well-formed ESP packet for a layout: header, IV, the two trailer
 * bytes and the ICV (34 bytes for AES-GCM with a 16-byte ICV).
 */
export function espMinimumLength(layout: EspLayout = {}): number {
  return ESP_HEADER_LENGTH + (layout.ivLength ?? ESP_GCM_IV_LENGTH) + ESP_TRAILER_LENGTH + (layout.icvLength ?? ESP_GCM_ICV_LENGTH);
}

/**
 * Decodes the SPI and low sequence half at `offset`.
 * @throws WireError TRUNCATED (< 8 bytes), BAD_VALUE (SPI 0, reserved by RFC 4303 §2.1)
 */
export function decodeEspHeader(buf: Uint8Array, offset = 0): EspHeader {
  const b = need(buf, offset, ESP_HEADER_LENGTH, 'ESP');
  const spi = b.readUInt32BE(offset);
  if (spi === 0) throw new WireError('BAD_VALUE', 'ESP: SPI 0 is reserved');
  return { spi, seq: b.readUInt32BE(offset + 4) };
}

/**
 * Cuts the ESP packet occupying `buf[offset, offset + length)` (default: the
 * rest of the buffer) into header, IV, ciphertext and ICV, without copying.
 * @throws WireError TRUNCATED (shorter than {@link espMinimumLength}), BAD_VALUE (SPI 0; bad layout)
 */
export function decodeEsp(buf: Uint8Array, offset = 0, length?: number, layout: EspLayout = {}): EspPacket {
  const ivLength = layout.ivLength ?? ESP_GCM_IV_LENGTH;
  const icvLength = layout.icvLength ?? ESP_GCM_ICV_LENGTH;
  requireUint(ivLength, 64, 'ESP IV length');
  requireUint(icvLength, 64, 'ESP ICV length');
  const total = messageLength(buf, offset, length, 'ESP');
  const b = asBuffer(buf);
  const min = ESP_HEADER_LENGTH + ivLength + ESP_TRAILER_LENGTH + icvLength;
  if (total < min) throw new WireError('TRUNCATED', `ESP: ${total} bytes, need at least ${min}`);
  const { spi, seq } = decodeEspHeader(b, offset);
  const ivStart = offset + ESP_HEADER_LENGTH;
  const ctStart = ivStart + ivLength;
  const icvStart = offset + total - icvLength;
  return {
    spi,
    seq,
    iv: b.subarray(ivStart, ctStart),
    ciphertext: b.subarray(ctStart, icvStart),
    icv: b.subarray(icvStart, offset + total),
  };
}

/**
 * Writes SPI and the low sequence half at `offset`, in place.
 * @throws WireError BAD_VALUE (SPI 0 or out of 32 bits, seq out of 32 bits), TRUNCATED (no room)
 */
export function writeEspHeader(buf: Uint8Array, offset: number, spi: number, seqLow: number): void {
  requireUint(spi, 0xffffffff, 'ESP SPI');
  if (spi === 0) throw new WireError('BAD_VALUE', 'ESP: SPI 0 is reserved');
  requireUint(seqLow, 0xffffffff, 'ESP sequence number (low half)');
  const b = need(buf, offset, ESP_HEADER_LENGTH, 'ESP header space');
  b.writeUInt32BE(spi, offset);
  b.writeUInt32BE(seqLow, offset + 4);
}

/**
 * Padding bytes that make `payloadLength` + the 2 trailer bytes a multiple of
 * `align` (4 for AES-GCM, whose block size is 1: RFC 4303 §2.4 alignment).
 */
export function espPadLength(payloadLength: number, align = 4): number {
  const r = (payloadLength + ESP_TRAILER_LENGTH) % align;
  return r === 0 ? 0 : align - r;
}

/**
 * Writes the default padding (1, 2, 3, … — RFC 4303 §2.4), the pad length and
 * the next header at `offset`, in place; returns the bytes written (padLength + 2).
 * @throws WireError BAD_VALUE (pad length over 255, next header over 255), TRUNCATED (no room)
 */
export function writeEspTrailer(buf: Uint8Array, offset: number, padLength: number, nextHeader: number): number {
  requireUint(padLength, ESP_MAX_PAD_LENGTH, 'ESP pad length');
  requireUint(nextHeader, 0xff, 'ESP next header');
  need(buf, offset, padLength + ESP_TRAILER_LENGTH, 'ESP trailer space');
  for (let i = 0; i < padLength; i++) buf[offset + i] = i + 1;
  buf[offset + padLength] = padLength;
  buf[offset + padLength + 1] = nextHeader;
  return padLength + ESP_TRAILER_LENGTH;
}

/**
 * Length of the payload inside decrypted ESP data `buf[start, end)` (payload +
 * padding + trailer), or −1 when the trailer is malformed: fewer than 2 bytes,
 * a pad length longer than what precedes it, or padding that is not 1, 2, 3, ….
 * Never throws (for the packet path); {@link decodeEspTrailer} is the throwing form.
 */
export function espPayloadLength(buf: Uint8Array, start: number, end: number): number {
  if (!(start >= 0 && end <= buf.length && end - start >= ESP_TRAILER_LENGTH)) return -1;
  const padLength = buf[end - 2];
  const payloadLength = end - start - ESP_TRAILER_LENGTH - padLength;
  if (payloadLength < 0) return -1;
  const padStart = start + payloadLength;
  for (let i = 0; i < padLength; i++) if (buf[padStart + i] !== i + 1) return -1;
  return payloadLength;
}

/** A decoded ESP trailer. */
export interface EspTrailer {
  /** Bytes of payload before the padding. */
  payloadLength: number;
  padLength: number;
  /** IP protocol number of the payload (17 for overlayd's UDP/VXLAN). */
  nextHeader: number;
}

/**
 * Decodes the trailer at the end of decrypted ESP data `buf[offset, offset + length)`.
 * @throws WireError TRUNCATED (< 2 bytes), BAD_LENGTH (pad length past the start), BAD_VALUE (padding not 1, 2, 3, …)
 */
export function decodeEspTrailer(buf: Uint8Array, offset = 0, length?: number): EspTrailer {
  const total = messageLength(buf, offset, length, 'ESP trailer');
  const b = asBuffer(buf);
  if (total < ESP_TRAILER_LENGTH) throw new WireError('TRUNCATED', `ESP trailer: ${total} bytes, need 2`);
  const end = offset + total;
  const padLength = b[end - 2];
  if (padLength > total - ESP_TRAILER_LENGTH) {
    throw new WireError('BAD_LENGTH', `ESP trailer: pad length ${padLength} exceeds the ${total - ESP_TRAILER_LENGTH} bytes before it`);
  }
  const payloadLength = espPayloadLength(b, offset, end);
  if (payloadLength < 0) throw new WireError('BAD_VALUE', 'ESP trailer: padding bytes are not 1, 2, 3, …');
  return { payloadLength, padLength, nextHeader: b[end - 1] };
}

/** What the payload of a UDP datagram on the ESP-in-UDP port is (RFC 3948 §2.2, §2.3). */
export type EspInUdpKind = 'esp' | 'ike' | 'keepalive' | 'malformed';

/**
 * Classifies the UDP payload `buf[offset, offset + length)` received on the
 * ESP-in-UDP port: a single 0xff byte is a NAT keep-alive; four zero bytes
 * (the non-ESP marker) start an IKE message; anything else of at least 8
 * bytes is ESP (its first word is the non-zero SPI). Never throws.
 */
export function classifyEspInUdp(buf: Uint8Array, offset = 0, length = buf.length - offset): EspInUdpKind {
  if (offset < 0 || length < 0 || offset + length > buf.length) return 'malformed';
  if (length === 1 && buf[offset] === 0xff) return 'keepalive';
  if (length >= 4 && buf[offset] === 0 && buf[offset + 1] === 0 && buf[offset + 2] === 0 && buf[offset + 3] === 0) return 'ike';
  return length >= ESP_HEADER_LENGTH ? 'esp' : 'malformed';
}

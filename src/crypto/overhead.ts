/**
 * What encryption costs in MTU, per carrier. Transport mode inserts ESP
 * between the outer IP header and the VXLAN UDP header:
 *
 *     ip:   outer IP | ESP hdr 8 | IV 8 | UDP 8 | VXLAN 8 | frame | pad 0–3 | 2 | ICV 16
 *     udp:  outer IP | UDP 8 | ESP hdr 8 | IV 8 | UDP 8 | VXLAN 8 | frame | pad 0–3 | 2 | ICV 16
 *
 * The AES key size does not change any length (AES-GCM's block size is 1, so
 * padding only aligns to 4 bytes); the functions take it so callers need not
 * know that.
 */
import { ESP_GCM_ICV_LENGTH, ESP_GCM_IV_LENGTH, ESP_HEADER_LENGTH, ESP_TRAILER_LENGTH, UDP_HEADER_LENGTH, VXLAN_HEADER_LENGTH } from '../wire/index.js';
import { CryptoError } from './errors.js';
import type { AesKeySize } from './sa.js';

/** How ESP packets travel: IP protocol 50 (as Docker) or ESP-in-UDP (RFC 3948). */
export type EspCarrier = 'ip' | 'udp';
/** The carriers, for iteration and validation. */
export const ESP_CARRIERS: readonly EspCarrier[] = ['ip', 'udp'];

const INNER_ETHERNET = 14;
/** ESP bytes before the protected payload (header + IV). */
const ESP_PREFIX = ESP_HEADER_LENGTH + ESP_GCM_IV_LENGTH;

function carrierBytes(carrier: EspCarrier): number {
  if (carrier === 'ip') return 0;
  if (carrier === 'udp') return UDP_HEADER_LENGTH;
  throw new CryptoError('BAD_ARGUMENT', `ESP carrier ${String(carrier)}: need 'ip' or 'udp'`);
}

function checkKeySize(keySize: AesKeySize): void {
  if (keySize !== 16 && keySize !== 32) throw new CryptoError('BAD_KEY', `AES key size ${String(keySize)}: need 16 or 32`);
}

/**
 * Most bytes encryption adds to one VXLAN datagram: 37 for protocol 50
 * (8 header + 8 IV + up to 3 padding + 2 trailer + 16 ICV), 45 for ESP-in-UDP.
 * @throws CryptoError BAD_ARGUMENT (carrier), BAD_KEY (key size)
 */
export function espOverhead(carrier: EspCarrier, keySize: AesKeySize = 16): number {
  checkKeySize(keySize);
  return carrierBytes(carrier) + ESP_PREFIX + 3 + ESP_TRAILER_LENGTH + ESP_GCM_ICV_LENGTH;
}

/**
 * Exact bytes encryption adds to a VXLAN datagram (UDP header onwards) of
 * `datagramLength` bytes, padding included.
 * @throws CryptoError BAD_ARGUMENT, BAD_KEY
 */
export function espAddedBytes(datagramLength: number, carrier: EspCarrier, keySize: AesKeySize = 16): number {
  checkKeySize(keySize);
  if (!Number.isInteger(datagramLength) || datagramLength < 0) throw new CryptoError('BAD_ARGUMENT', `datagram length ${datagramLength}`);
  const aligned = Math.ceil((datagramLength + ESP_TRAILER_LENGTH) / 4) * 4;
  return carrierBytes(carrier) + ESP_PREFIX + (aligned - datagramLength) + ESP_GCM_ICV_LENGTH;
}

/**
 * The overlay MTU (largest inner IP packet) of an encrypted network on an
 * underlay of `underlayMtu` bytes: the largest value whose whole outer packet
 * fits, padding included — 1416 (protocol 50) or 1408 (ESP-in-UDP) on a
 * 1500-byte IPv4 underlay, 1396 / 1388 on IPv6.
 * @throws CryptoError BAD_ARGUMENT (family, carrier, or an underlay too small), BAD_KEY
 */
export function encryptedOverlayMtu(underlayMtu: number, family: 4 | 6, carrier: EspCarrier, keySize: AesKeySize = 16): number {
  checkKeySize(keySize);
  if (family !== 4 && family !== 6) throw new CryptoError('BAD_ARGUMENT', `address family ${String(family)}`);
  const outerIp = family === 4 ? 20 : 40;
  const room = underlayMtu - outerIp - carrierBytes(carrier) - ESP_PREFIX - ESP_GCM_ICV_LENGTH;
  // The encrypted part (datagram + padding + trailer) must be a multiple of 4 that fits in `room`.
  const datagram = Math.floor(room / 4) * 4 - ESP_TRAILER_LENGTH;
  const mtu = datagram - UDP_HEADER_LENGTH - VXLAN_HEADER_LENGTH - INNER_ETHERNET;
  if (!Number.isInteger(underlayMtu) || mtu < 68) throw new CryptoError('BAD_ARGUMENT', `underlay MTU ${underlayMtu} leaves no room for an encrypted overlay`);
  return mtu;
}

/**
 * How much smaller the encrypted overlay MTU is than the plain one (underlay
 * − 50 on IPv4, − 70 on IPv6): 34 for protocol 50, 42 for ESP-in-UDP on a
 * 1500-byte underlay (depends on alignment, so computed, not constant).
 */
export function overlayMtuReduction(underlayMtu: number, family: 4 | 6, carrier: EspCarrier, keySize: AesKeySize = 16): number {
  const plain = underlayMtu - (family === 4 ? 50 : 70);
  return plain - encryptedOverlayMtu(underlayMtu, family, carrier, keySize);
}

/** Ethernet MAC addresses: parsing, formatting, group-bit test. */
import { parseIp } from './ip.js';
import { need } from './bounds.js';
import { WireError } from './errors.js';

/** ff:ff:ff:ff:ff:ff. Shared: never write into it. */
export const BROADCAST_MAC: Buffer = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/**
 * Parses "02:42:c6:13:01:02" or "02-42-c6-13-01-02" (one separator style,
 * two hex digits per byte, any case) into a new 6-byte Buffer.
 * @throws WireError BAD_VALUE for anything else
 */
export function parseMac(s: string): Buffer {
  if (typeof s !== 'string' || !MAC_RE.test(s)) throw new WireError('BAD_VALUE', `not a MAC address: ${JSON.stringify(s)}`);
  const out = Buffer.allocUnsafe(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(s.slice(i * 3, i * 3 + 2), 16);
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Formats the 6 bytes at `offset` as lower-case "aa:bb:cc:dd:ee:ff".
 * @throws WireError TRUNCATED when fewer than 6 bytes are available
 */
export function formatMac(b: Uint8Array, offset = 0): string {
  need(b, offset, 6, 'MAC');
  return `${HEX[b[offset]]}:${HEX[b[offset + 1]]}:${HEX[b[offset + 2]]}:${HEX[b[offset + 3]]}:${HEX[b[offset + 4]]}:${HEX[b[offset + 5]]}`;
}

/**
 * True when the MAC at `offset` has the group (I/G) bit set: multicast,
 * including broadcast. Reads one byte; @throws WireError TRUNCATED if absent.
 */
export function isMulticastMac(b: Uint8Array, offset = 0): boolean {
  need(b, offset, 1, 'MAC');
  return (b[offset] & 0x01) !== 0;
}

/** Docker's endpoint MAC: 02:42 followed by the four bytes of the IPv4 address (or the last four of IPv6). */
export function endpointMac(ip: string): string {
  const b = parseIp(ip);
  const tail = b.subarray(b.length - 4);
  return ['02', '42', ...[...tail].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

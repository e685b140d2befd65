/** IPv6 fixed headers (RFC 8200). Extension headers are not parsed here. */
import { asBuffer, need, requireLength, requireUint } from './bounds.js';
import { WireError } from './errors.js';

/** Length of the fixed IPv6 header. */
export const IPV6_HEADER_LENGTH = 40;

/** A decoded IPv6 fixed header. `src` and `dst` alias the input buffer. */
export interface IPv6Header {
  version: 6;
  trafficClass: number;
  /** 20-bit flow label. */
  flowLabel: number;
  /** Bytes after the fixed header (checked to fit the input). */
  payloadLength: number;
  /** Protocol (or first extension header) after the fixed header. */
  nextHeader: number;
  hopLimit: number;
  src: Buffer;
  dst: Buffer;
}

/**
 * Decodes the IPv6 header at `offset`. Jumbograms (payload length 0 with a
 * hop-by-hop jumbo option) are not supported: they decode as length 0.
 * @throws WireError TRUNCATED (header or payload past the input), BAD_VERSION
 */
export function decodeIPv6(buf: Uint8Array, offset = 0): IPv6Header {
  const b = need(buf, offset, IPV6_HEADER_LENGTH, 'IPv6');
  const word = b.readUInt32BE(offset);
  const version = word >>> 28;
  if (version !== 6) throw new WireError('BAD_VERSION', `IPv6: version ${version}`);
  const payloadLength = b.readUInt16BE(offset + 4);
  need(b, offset, IPV6_HEADER_LENGTH + payloadLength, 'IPv6 payload length');
  return {
    version: 6,
    trafficClass: (word >>> 20) & 0xff,
    flowLabel: word & 0xfffff,
    payloadLength,
    nextHeader: b[offset + 6],
    hopLimit: b[offset + 7],
    src: b.subarray(offset + 8, offset + 24),
    dst: b.subarray(offset + 24, offset + 40),
  };
}

/**
 * Builds a new IPv6 packet: fixed header then `payload` (which must already
 * carry any extension headers). Defaults: traffic class 0, flow label 0, hop limit 64.
 * @throws WireError BAD_VALUE for bad fields or addresses, BAD_LENGTH for a payload over 65535 bytes
 */
export function encodeIPv6(
  h: { trafficClass?: number; flowLabel?: number; nextHeader: number; hopLimit?: number; src: Uint8Array; dst: Uint8Array },
  payload: Uint8Array,
): Buffer {
  const { trafficClass = 0, flowLabel = 0, hopLimit = 64, nextHeader } = h;
  requireUint(trafficClass, 0xff, 'IPv6 traffic class');
  requireUint(flowLabel, 0xfffff, 'IPv6 flow label');
  requireUint(nextHeader, 0xff, 'IPv6 next header');
  requireUint(hopLimit, 0xff, 'IPv6 hop limit');
  requireLength(h.src, 16, 'IPv6 src');
  requireLength(h.dst, 16, 'IPv6 dst');
  if (payload.length > 0xffff) throw new WireError('BAD_LENGTH', `IPv6 payload of ${payload.length} bytes exceeds 65535`);
  const out = Buffer.allocUnsafe(IPV6_HEADER_LENGTH + payload.length);
  out.writeUInt32BE(((6 << 28) | (trafficClass << 20) | flowLabel) >>> 0, 0);
  out.writeUInt16BE(payload.length, 4);
  out[6] = nextHeader;
  out[7] = hopLimit;
  out.set(h.src, 8);
  out.set(h.dst, 24);
  asBuffer(payload).copy(out, IPV6_HEADER_LENGTH);
  return out;
}

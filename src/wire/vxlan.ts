/** VXLAN (RFC 7348): the 8-byte header in front of the inner Ethernet frame. */
import { asBuffer, need, requireUint } from './bounds.js';
import { WireError } from './errors.js';

/** Bytes of the VXLAN header. */
export const VXLAN_HEADER_LENGTH = 8;
/** The I flag: "VNI is valid"; must be set. */
export const VXLAN_FLAG_I = 0x08;
/** IANA port for VXLAN. */
export const VXLAN_DEFAULT_PORT = 4789;
/** Largest 24-bit VNI. */
export const VXLAN_MAX_VNI = 0xffffff;

/** A decoded VXLAN header; the inner frame starts 8 bytes after it. */
export interface VxlanHeader {
  /** The flags byte (0x08 from conforming senders; other bits ignored on receipt). */
  flags: number;
  /** 24-bit VXLAN network identifier. */
  vni: number;
}

/**
 * Decodes the VXLAN header at `offset`. Reserved bits are ignored, as RFC
 * 7348 asks of receivers.
 * @throws WireError TRUNCATED (< 8 bytes), BAD_VALUE (I flag clear)
 */
export function decodeVxlan(buf: Uint8Array, offset = 0): VxlanHeader {
  const b = need(buf, offset, VXLAN_HEADER_LENGTH, 'VXLAN');
  const flags = b[offset];
  if ((flags & VXLAN_FLAG_I) === 0) throw new WireError('BAD_VALUE', `VXLAN: I flag clear (flags 0x${flags.toString(16)})`);
  return { flags, vni: (b[offset + 4] << 16) | (b[offset + 5] << 8) | b[offset + 6] };
}

/**
 * Writes `08 00 00 00 | vni (3 bytes BE) | 00` at `offset` of `buf`, in place
 * (for headroom-based encapsulation without a copy).
 * @throws WireError BAD_VALUE for a VNI outside 0..2^24−1, TRUNCATED when `buf` lacks 8 bytes at `offset`
 */
export function writeVxlanHeader(buf: Uint8Array, offset: number, vni: number): void {
  requireUint(vni, VXLAN_MAX_VNI, 'VXLAN VNI');
  need(buf, offset, VXLAN_HEADER_LENGTH, 'VXLAN header space');
  buf[offset] = VXLAN_FLAG_I;
  buf[offset + 1] = 0;
  buf[offset + 2] = 0;
  buf[offset + 3] = 0;
  buf[offset + 4] = vni >> 16;
  buf[offset + 5] = (vni >> 8) & 0xff;
  buf[offset + 6] = vni & 0xff;
  buf[offset + 7] = 0;
}

/**
 * A new Buffer: VXLAN header for `vni` followed by `frame`.
 * @throws WireError BAD_VALUE for a bad VNI
 */
export function encodeVxlan(vni: number, frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(VXLAN_HEADER_LENGTH + frame.length);
  writeVxlanHeader(out, 0, vni);
  asBuffer(frame).copy(out, VXLAN_HEADER_LENGTH);
  return out;
}


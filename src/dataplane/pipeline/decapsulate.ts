/**
 * Ingress stage "decapsulate": the VXLAN header (RFC 7348) of a datagram
 * from the data port or from an opened ESP packet, read into its VNI and
 * the Ethernet frame it carries.
 */
import { ETHERNET_HEADER_LENGTH, VXLAN_FLAG_I, VXLAN_HEADER_LENGTH } from '../../wire/index.js';
import type { DropReason } from '../datapath.js';

/** A VXLAN payload taken apart. */
export interface Decapsulated {
  /** The 24-bit VNI of the header. */
  vni: number;
  /** The inner Ethernet frame (a view into the payload). */
  frame: Buffer;
}

/** Returns the VNI and inner frame of VXLAN `payload`, or `malformed` (shorter than the header and an Ethernet header) / `bad_vxlan` (I flag clear). */
export function decapsulate(payload: Buffer): Decapsulated | DropReason {
  if (payload.length < VXLAN_HEADER_LENGTH + ETHERNET_HEADER_LENGTH) return 'malformed';
  if ((payload[0] & VXLAN_FLAG_I) === 0) return 'bad_vxlan';
  const vni = (payload[4] << 16) | (payload[5] << 8) | payload[6];
  return { vni, frame: payload.subarray(VXLAN_HEADER_LENGTH) };
}

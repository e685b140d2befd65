/**
 * Egress stage "encapsulate": the VXLAN header (RFC 7348: flags 0x08, 24-bit
 * VNI) in front of one frame, after `headroom` bytes left free for the seal
 * stage's inner UDP header on an encrypted network.
 */
import { VXLAN_HEADER_LENGTH, writeVxlanHeader } from '../../wire/index.js';

/** Returns `headroom` free bytes, the VXLAN header of network `vni`, then a copy of `frame`. */
export function encapsulate(vni: number, frame: Buffer, headroom: number): Buffer {
  const datagram = Buffer.allocUnsafe(headroom + VXLAN_HEADER_LENGTH + frame.length);
  writeVxlanHeader(datagram, headroom, vni);
  frame.copy(datagram, headroom + VXLAN_HEADER_LENGTH);
  return datagram;
}

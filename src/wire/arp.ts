/** ARP for IPv4 over Ethernet (RFC 826): the only kind overlayd answers. */
import { need, requireLength, requireUint } from './bounds.js';
import { WireError } from './errors.js';
import { ETHERTYPE } from './ethernet.js';

/** ARP opcodes. */
export const ARP_OP = { REQUEST: 1, REPLY: 2 } as const;
/** Size of an Ethernet/IPv4 ARP packet. */
export const ARP_PACKET_LENGTH = 28;

/** A decoded ARP packet. The four addresses alias the input buffer. */
export interface ArpPacket {
  htype: number;
  ptype: number;
  hlen: number;
  plen: number;
  /** 1 request, 2 reply (other values are passed through). */
  op: number;
  /** Sender hardware (6 bytes) / protocol (4 bytes) address. */
  sha: Buffer;
  spa: Buffer;
  /** Target hardware / protocol address. */
  tha: Buffer;
  tpa: Buffer;
}

/**
 * Decodes an Ethernet/IPv4 ARP packet (28 bytes; trailing padding ignored).
 * @throws WireError TRUNCATED when short; BAD_VALUE for any other hardware or protocol type/length
 */
export function decodeArp(buf: Uint8Array, offset = 0): ArpPacket {
  const b = need(buf, offset, ARP_PACKET_LENGTH, 'ARP');
  const htype = b.readUInt16BE(offset);
  const ptype = b.readUInt16BE(offset + 2);
  const hlen = b[offset + 4];
  const plen = b[offset + 5];
  if (htype !== 1 || ptype !== ETHERTYPE.IPV4 || hlen !== 6 || plen !== 4) {
    throw new WireError('BAD_VALUE', `ARP htype ${htype} ptype 0x${ptype.toString(16)} hlen ${hlen} plen ${plen} is not Ethernet/IPv4`);
  }
  return {
    htype,
    ptype,
    hlen,
    plen,
    op: b.readUInt16BE(offset + 6),
    sha: b.subarray(offset + 8, offset + 14),
    spa: b.subarray(offset + 14, offset + 18),
    tha: b.subarray(offset + 18, offset + 24),
    tpa: b.subarray(offset + 24, offset + 28),
  };
}

/**
 * Builds a 28-byte Ethernet/IPv4 ARP packet.
 * @throws WireError BAD_VALUE for wrong address lengths or an op outside 0..65535
 */
export function encodeArp(p: { op: number; sha: Uint8Array; spa: Uint8Array; tha: Uint8Array; tpa: Uint8Array }): Buffer {
  requireUint(p.op, 0xffff, 'ARP op');
  requireLength(p.sha, 6, 'ARP sha');
  requireLength(p.spa, 4, 'ARP spa');
  requireLength(p.tha, 6, 'ARP tha');
  requireLength(p.tpa, 4, 'ARP tpa');
  const out = Buffer.allocUnsafe(ARP_PACKET_LENGTH);
  out.writeUInt16BE(1, 0);
  out.writeUInt16BE(ETHERTYPE.IPV4, 2);
  out[4] = 6;
  out[5] = 4;
  out.writeUInt16BE(p.op, 6);
  out.set(p.sha, 8);
  out.set(p.spa, 14);
  out.set(p.tha, 18);
  out.set(p.tpa, 24);
  return out;
}

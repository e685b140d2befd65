/** Ethernet II frames with up to two 802.1Q / 802.1ad tags. */
import { asBuffer, need, requireLength, requireUint } from './bounds.js';
import { WireError } from './errors.js';

/** EtherType values overlayd handles. */
export const ETHERTYPE = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8 } as const;

/** Length of an untagged Ethernet header. */
export const ETHERNET_HEADER_LENGTH = 14;
/** Most VLAN tags decodeEthernet follows. */
export const MAX_VLAN_TAGS = 2;

/** One 802.1Q (tpid 0x8100) or 802.1ad (tpid 0x88a8) tag. */
export interface VlanTag {
  /** Tag protocol identifier: 0x8100 or 0x88a8. */
  tpid: number;
  /** Tag control information: PCP (3 bits) | DEI (1) | VID (12). */
  tci: number;
}

/** A decoded Ethernet header. `dst` and `src` alias the input buffer. */
export interface EthernetHeader {
  dst: Buffer;
  src: Buffer;
  /** Tags in wire order (outer first); empty when untagged. */
  vlans: VlanTag[];
  /**
   * EtherType after the tags. Values below 0x0600 are 802.3 lengths and are
   * returned as they are; after two tags a third tag's TPID is returned too.
   */
  etherType: number;
  /** Bytes from the frame start to the payload: 14 + 4 per tag. */
  headerLength: number;
}

const isTagTpid = (t: number): boolean => t === ETHERTYPE.VLAN || t === ETHERTYPE.QINQ;

/**
 * Decodes the Ethernet header at `offset`, following up to two VLAN tags.
 * @throws WireError TRUNCATED when the header or a tag is cut short
 */
export function decodeEthernet(buf: Uint8Array, offset = 0): EthernetHeader {
  const b = need(buf, offset, ETHERNET_HEADER_LENGTH, 'Ethernet');
  const vlans: VlanTag[] = [];
  let at = offset + 12;
  let etherType = b.readUInt16BE(at);
  while (isTagTpid(etherType) && vlans.length < MAX_VLAN_TAGS) {
    need(b, at, 6, 'Ethernet VLAN tag');
    vlans.push({ tpid: etherType, tci: b.readUInt16BE(at + 2) });
    at += 4;
    etherType = b.readUInt16BE(at);
  }
  return {
    dst: b.subarray(offset, offset + 6),
    src: b.subarray(offset + 6, offset + 12),
    vlans,
    etherType,
    headerLength: at + 2 - offset,
  };
}

/**
 * Builds a new frame: header (with `vlans`, outer first) followed by
 * `payload`. No padding to the 60-byte minimum is added.
 * @throws WireError BAD_VALUE for bad MAC lengths, TPIDs, TCIs or EtherType
 */
export function encodeEthernet(
  h: { dst: Uint8Array; src: Uint8Array; vlans?: VlanTag[]; etherType: number },
  payload: Uint8Array,
): Buffer {
  requireLength(h.dst, 6, 'Ethernet dst');
  requireLength(h.src, 6, 'Ethernet src');
  requireUint(h.etherType, 0xffff, 'EtherType');
  const vlans = h.vlans ?? [];
  if (vlans.length > MAX_VLAN_TAGS) throw new WireError('BAD_VALUE', `at most ${MAX_VLAN_TAGS} VLAN tags, got ${vlans.length}`);
  const headerLength = ETHERNET_HEADER_LENGTH + 4 * vlans.length;
  const out = Buffer.allocUnsafe(headerLength + payload.length);
  out.set(h.dst, 0);
  out.set(h.src, 6);
  let at = 12;
  for (const tag of vlans) {
    if (!isTagTpid(tag.tpid)) throw new WireError('BAD_VALUE', `VLAN TPID 0x${tag.tpid.toString(16)} is not 0x8100/0x88a8`);
    requireUint(tag.tci, 0xffff, 'VLAN TCI');
    out.writeUInt16BE(tag.tpid, at);
    out.writeUInt16BE(tag.tci, at + 2);
    at += 4;
  }
  out.writeUInt16BE(h.etherType, at);
  asBuffer(payload).copy(out, headerLength);
  return out;
}

/** The 12-bit VLAN id of a TCI. */
export const vlanId = (tci: number): number => tci & 0x0fff;

/**
 * IPv6 neighbour discovery (RFC 4861): neighbour solicitations and
 * advertisements, their options, and solicited-node multicast addresses.
 * The agent answers NS from its neighbour table, so these are the only ND
 * messages overlayd builds.
 */
import { asBuffer, requireLength, requireUint } from './bounds.js';
import { foldChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { WireError } from './errors.js';
import { IP_PROTOCOL } from './ipv4.js';

/** NA flags in {@link NeighborMessage.flags}: Router, Solicited, Override. */
export const ND_FLAG_ROUTER = 0x80000000;
export const ND_FLAG_SOLICITED = 0x40000000;
export const ND_FLAG_OVERRIDE = 0x20000000;
/** ND option types: source / target link-layer address. */
export const ND_OPTION_SOURCE_LL = 1;
export const ND_OPTION_TARGET_LL = 2;

/** One ND option. `data` excludes the type and length bytes and aliases the input. */
export interface NdOption {
  type: number;
  data: Buffer;
}

/** A decoded NS (135) or NA (136). Buffers alias the input. */
export interface NeighborMessage {
  type: 135 | 136;
  /** The 32 bits after the ICMPv6 header: NA R/S/O flags; reserved (normally 0) in an NS. */
  flags: number;
  /** The address being solicited / advertised (16 bytes). */
  target: Buffer;
  options: NdOption[];
  /** First 6 bytes of the source link-layer option (NS) or target link-layer option (NA), if present. */
  linkLayerAddress?: Buffer;
}

/** Bytes of an NS/NA body before the options: 4 flags/reserved + 16 target. */
const ND_FIXED_LENGTH = 20;
const ICMPV6_NS = 135;
const ICMPV6_NA = 136;

/**
 * Decodes the body of an NS or NA (`Icmpv6Message.body`: after the 4-byte
 * ICMPv6 header). Does not check hop limit, code or checksum: the caller does.
 * @throws WireError BAD_VALUE for another type; TRUNCATED for a short body or
 *   an option running past the end; BAD_LENGTH for an option of length 0
 */
export function decodeNeighborMessage(icmpBody: Buffer, type: number): NeighborMessage {
  if (type !== ICMPV6_NS && type !== ICMPV6_NA) throw new WireError('BAD_VALUE', `ICMPv6 type ${type} is not NS/NA`);
  const b = asBuffer(icmpBody);
  if (b.length < ND_FIXED_LENGTH) throw new WireError('TRUNCATED', `ND: body of ${b.length} bytes < ${ND_FIXED_LENGTH}`);
  const options: NdOption[] = [];
  let linkLayerAddress: Buffer | undefined;
  const wantedOption = type === ICMPV6_NS ? ND_OPTION_SOURCE_LL : ND_OPTION_TARGET_LL;
  for (let at = ND_FIXED_LENGTH; at < b.length; ) {
    if (at + 2 > b.length) throw new WireError('TRUNCATED', `ND: option header at ${at} cut short`);
    const optLength = b[at + 1] * 8;
    if (optLength === 0) throw new WireError('BAD_LENGTH', `ND: option of length 0 at ${at}`);
    if (at + optLength > b.length) throw new WireError('TRUNCATED', `ND: option of ${optLength} bytes at ${at} past end ${b.length}`);
    const option = { type: b[at], data: b.subarray(at + 2, at + optLength) };
    options.push(option);
    if (option.type === wantedOption && !linkLayerAddress && option.data.length >= 6) linkLayerAddress = option.data.subarray(0, 6);
    at += optLength;
  }
  const message: NeighborMessage = { type, flags: b.readUInt32BE(0), target: b.subarray(4, 20), options };
  if (linkLayerAddress) message.linkLayerAddress = linkLayerAddress;
  return message;
}

/** Writes header, body and checksum of an ND message into a new Buffer. */
function buildNd(src: Uint8Array, dst: Uint8Array, type: number, flags: number, target: Uint8Array, option: number, mac?: Uint8Array): Buffer {
  requireLength(src, 16, 'ND src');
  requireLength(dst, 16, 'ND dst');
  requireLength(target, 16, 'ND target');
  if (mac) requireLength(mac, 6, 'ND link-layer address');
  const out = Buffer.alloc(4 + ND_FIXED_LENGTH + (mac ? 8 : 0));
  out[0] = type;
  out.writeUInt32BE(flags >>> 0, 4);
  out.set(target, 8);
  if (mac) {
    out[24] = option;
    out[25] = 1;
    out.set(mac, 26);
  }
  const sum = onesComplementSum(out, 0, out.length, pseudoHeaderSum(src, dst, IP_PROTOCOL.ICMPV6, out.length));
  out.writeUInt16BE(foldChecksum(sum), 2);
  return out;
}

/**
 * Builds the ICMPv6 part (32 bytes, checksummed for `src` → `dst`) of a
 * neighbour advertisement for `target` at `mac`, with a target link-layer
 * option. `flags` combines ND_FLAG_* (top three bits only).
 * @throws WireError BAD_VALUE for bad lengths or flags
 */
export function encodeNeighborAdvertisement(src: Uint8Array, dst: Uint8Array, target: Uint8Array, mac: Uint8Array, flags: number): Buffer {
  requireUint(flags, 0xffffffff, 'NA flags');
  if ((flags & 0x1fffffff) !== 0) throw new WireError('BAD_VALUE', `NA flags 0x${flags.toString(16)} set reserved bits`);
  return buildNd(src, dst, ICMPV6_NA, flags, target, ND_OPTION_TARGET_LL, mac);
}

/**
 * Builds the ICMPv6 part (24 bytes, or 32 with a source link-layer option
 * when `mac` is given) of a neighbour solicitation for `target`. Leave `mac`
 * out when `src` is :: (duplicate address detection, RFC 4861 §4.3).
 * @throws WireError BAD_VALUE for bad lengths
 */
export function encodeNeighborSolicitation(src: Uint8Array, dst: Uint8Array, target: Uint8Array, mac?: Uint8Array): Buffer {
  return buildNd(src, dst, ICMPV6_NS, 0, target, ND_OPTION_SOURCE_LL, mac);
}

/**
 * The solicited-node multicast group of `ip` (ff02::1:ffXX:XXXX, RFC 4291
 * §2.7.1) and its Ethernet address (33:33 + the group's last 4 bytes).
 * @throws WireError BAD_VALUE unless `ip` is 16 bytes
 */
export function solicitedNodeMulticast(ip: Uint8Array): { ip: Buffer; mac: Buffer } {
  requireLength(ip, 16, 'solicited-node address');
  const group = Buffer.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, ip[13], ip[14], ip[15]]);
  const mac = Buffer.from([0x33, 0x33, 0xff, ip[13], ip[14], ip[15]]);
  return { ip: group, mac };
}

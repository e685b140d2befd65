/**
 * What IGMP and MLD have in common: group records, queries, the floating-point
 * time codes, which groups a snooping switch floods (link-local) and the
 * Ethernet addresses multicast maps to (RFC 1112 §6.4, RFC 2464 §7), and the
 * IPv6 hop-by-hop header MLD messages travel behind (RFC 3810 §5).
 */
import { asBuffer } from './bounds.js';
import { WireError } from './errors.js';
import { formatIp, parseIp } from './ip.js';

/**
 * One group record. Versions 1/2 of IGMP and version 1 of MLD say `join` or
 * `leave`; IGMPv3 / MLDv2 records keep their kind (RFC 3376 §4.2.12).
 */
export interface GroupRecord {
  type: 'join' | 'leave' | 'is_include' | 'is_exclude' | 'to_include' | 'to_exclude' | 'allow' | 'block';
  group: string;
  sources: string[];
}

/** An IGMP or MLD message as a snooping switch reads it. */
export type MembershipMessage =
  | { kind: 'report'; version: 1 | 2 | 3; records: GroupRecord[] }
  | { kind: 'query'; version: 1 | 2 | 3; group: string; maxRespMs: number; sources: string[] };

/**
 * Whether a record leaves the host a listener of its group (any source):
 * what a switch that forwards by group, not by source, needs. EXCLUDE modes
 * listen (to all but some sources); INCLUDE with sources listens to those;
 * INCLUDE of nothing, and a leave, is leaving. ALLOW adds sources, so it
 * listens; BLOCK only narrows a list, so it says nothing here.
 */
export function recordListens(r: GroupRecord): boolean | undefined {
  switch (r.type) {
    case 'join':
    case 'is_exclude':
    case 'to_exclude':
    case 'allow':
      return true;
    case 'leave':
      return false;
    case 'is_include':
    case 'to_include':
      return r.sources.length > 0;
    case 'block':
      return undefined;
  }
}

/**
 * The value of an 8-bit (`bits` 8: IGMPv3 max resp / QQIC, RFC 3376 §4.1.1)
 * or 16-bit (`bits` 16: MLDv2 max resp, RFC 3810 §5.1.3) time code: plain
 * below 2^(bits−1), else a mantissa and exponent.
 */
export function decodeFloatCode(code: number, bits: 8 | 16): number {
  if (bits === 8) return code < 128 ? code : ((code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3);
  return code < 32768 ? code : ((code & 0x0fff) | 0x1000) * 2 ** (((code >> 12) & 0x07) + 3);
}

/**
 * True for the groups a snooping switch sends everywhere (RFC 4541 §2.1.2):
 * 224.0.0.0/24 and ff02::/16 — the same test as the data path's flooding
 * rule (datapath.ts, MulticastSettings rule 3). Other link-scope IPv6 groups
 * (ff12::/16, ff32::/16 …: transient or prefix-based) are reported by their
 * listeners like any group, so they are snooped, not flooded. Solicited-node
 * groups (ff02::1:ff00:0/104) are not: neighbour discovery is answered by the
 * agent on each host and never crosses the overlay.
 */
export function isLinkLocalGroup(group: string): boolean {
  const b = parseIp(group);
  if (b.length === 4) return b[0] === 224 && b[1] === 0 && b[2] === 0;
  return b[0] === 0xff && b[1] === 0x02 && !isSolicitedNode(b);
}

/**
 * Whether a group's traffic goes only to the hosts that listen: not the
 * link-local groups (224.0.0.0/24, ff02::/16), which go to every host of the
 * network, and not the solicited-node groups, whose neighbour discovery each
 * host answers itself.
 */
export function isSnoopedGroup(group: string): boolean {
  return !isLinkLocalGroup(group) && !isSolicitedNode(parseIp(group));
}

/** True for ff02::1:ffXX:XXXX. */
export function isSolicitedNode(b: Uint8Array): boolean {
  const prefix = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff];
  return b.length === 16 && prefix.every((v, i) => b[i] === v);
}

/** True for an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address. */
export function isMulticastIp(ip: string): boolean {
  const b = parseIp(ip);
  return b.length === 4 ? (b[0] & 0xf0) === 0xe0 : b[0] === 0xff;
}

/** The Ethernet address of a group: 01:00:5e + its low 23 bits, or 33:33 + its low 32 bits. */
export function groupMac(group: string): Buffer {
  const b = parseIp(group);
  if (b.length === 4) return Buffer.from([0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]]);
  return Buffer.from([0x33, 0x33, b[12], b[13], b[14], b[15]]);
}

/** The canonical text of a group address (the form tables key on). */
export function canonicalGroup(group: string): string {
  const b = parseIp(group);
  if ((b.length === 4 && (b[0] & 0xf0) !== 0xe0) || (b.length === 16 && b[0] !== 0xff)) {
    throw new WireError('BAD_VALUE', `${group} is not a multicast address`);
  }
  return formatIp(b);
}

export const IPV6_NEXT_HEADER_HOP_BY_HOP = 0;

/**
 * The upper-layer protocol of an IPv6 packet and where it starts, past a
 * hop-by-hop options header if there is one (where MLD's router alert sits).
 * `payload` is what follows the fixed header. Other extension headers are
 * returned as the protocol (MLD is never behind them).
 * @throws WireError TRUNCATED when the hop-by-hop header runs past the payload
 */
export function skipHopByHop(nextHeader: number, payload: Uint8Array): { protocol: number; offset: number } {
  if (nextHeader !== IPV6_NEXT_HEADER_HOP_BY_HOP) return { protocol: nextHeader, offset: 0 };
  const b = asBuffer(payload);
  if (b.length < 8) throw new WireError('TRUNCATED', `IPv6 hop-by-hop header: ${b.length} bytes < 8`);
  const length = (b[1] + 1) * 8;
  if (length > b.length) throw new WireError('TRUNCATED', `IPv6 hop-by-hop header: ${length} bytes past the payload`);
  return { protocol: b[0], offset: length };
}

/** The hop-by-hop header with a router alert (value 0: MLD) that MLD messages carry, before protocol `next`. */
export function routerAlertHopByHop(next: number): Buffer {
  // next header, length 0 (8 bytes), router alert option (5, len 2, value 0), PadN of 0.
  return Buffer.from([next, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00]);
}

/** The IPv4 router alert option (RFC 2113) IGMP messages carry. */
export const IPV4_ROUTER_ALERT = Buffer.from([0x94, 0x04, 0x00, 0x00]);

/**
 * The IGMP / MLD frames a snooping host reads and writes: finding a
 * membership message inside an Ethernet frame from a container, and building
 * the general query the agent sends as querier when a network has none.
 *
 * A query goes from the agent's querier address on the network: IGMP queries
 * from 0.0.0.0 (RFC 4541 §2.1.1: what a snooping switch without an address
 * uses, and what Linux's bridge sends), MLD queries from a link-local address
 * (RFC 3810 §5.1.14: hosts drop queries from any other source).
 */
import {
  decodeEthernet,
  decodeIgmp,
  decodeIPv4,
  decodeIPv6,
  decodeMld,
  encodeEthernet,
  encodeIgmpQuery,
  encodeIPv4,
  encodeIPv6,
  encodeMldQuery,
  ETHERTYPE,
  formatMac,
  groupMac,
  IP_PROTOCOL,
  IPV4_ROUTER_ALERT,
  IPV6_HEADER_LENGTH,
  isMldType,
  parseIp,
  routerAlertHopByHop,
  skipHopByHop,
  type MembershipMessage,
} from '../../wire/index.js';

/** IGMP queries are sent to all systems, MLD queries to all nodes. */
const ALL_SYSTEMS = '224.0.0.1';
const ALL_NODES = 'ff02::1';
/** Internetwork control (RFC 2236 §2 asks reports and queries to be sent with it; Linux does). */
const TOS_INTERNETWORK_CONTROL = 0xc0;

/** A membership message found in a frame, with the sender's MAC (the endpoint that listens). */
export interface MembershipFrame {
  mac: string;
  family: 4 | 6;
  message: MembershipMessage;
}

/**
 * The IGMP or MLD message in `frame`, or null when the frame carries none
 * (any other IP packet, ARP, ...).
 * @throws WireError when the frame claims to carry one and it is malformed
 */
export function findMembershipMessage(frame: Uint8Array): MembershipFrame | null {
  const eth = decodeEthernet(frame);
  const mac = formatMac(eth.src);
  if (eth.etherType === ETHERTYPE.IPV4) {
    const ip = decodeIPv4(frame, eth.headerLength);
    if (ip.protocol !== IP_PROTOCOL.IGMP || ip.fragmentOffset !== 0) return null;
    const start = eth.headerLength + ip.headerLength;
    return { mac, family: 4, message: decodeIgmp(frame, start, ip.totalLength - ip.headerLength) };
  }
  if (eth.etherType === ETHERTYPE.IPV6) {
    const ip = decodeIPv6(frame, eth.headerLength);
    const payloadAt = eth.headerLength + IPV6_HEADER_LENGTH;
    const payload = frame.subarray(payloadAt, payloadAt + ip.payloadLength);
    const { protocol, offset } = skipHopByHop(ip.nextHeader, payload);
    if (protocol !== IP_PROTOCOL.ICMPV6 || offset >= payload.length || !isMldType(payload[offset])) return null;
    return { mac, family: 6, message: decodeMld(ip.src, ip.dst, payload, offset) };
  }
  return null;
}

/** The querier's addresses on one network: its MAC and the IPv6 link-local address made from it (modified EUI-64). */
export interface QuerierAddress {
  mac: Buffer;
  linkLocal: Buffer;
}

export function querierAddress(mac: Buffer): QuerierAddress {
  const ll = Buffer.alloc(16);
  ll[0] = 0xfe;
  ll[1] = 0x80;
  ll[8] = mac[0] ^ 0x02;
  mac.copy(ll, 9, 1, 3);
  ll[11] = 0xff;
  ll[12] = 0xfe;
  mac.copy(ll, 13, 3, 6);
  return { mac, linkLocal: ll };
}

/**
 * A general query as a whole Ethernet frame: IGMPv3 (which v2 hosts answer
 * too, RFC 3376 §7.2.1 — version 2 when asked) or MLDv2 / MLDv1, hop limit 1,
 * with the router alert, `maxRespMs` to answer within.
 */
export function buildGeneralQuery(family: 4 | 6, from: QuerierAddress, opts: { maxRespMs: number; intervalS: number; version?: 'old' | 'new' }): Buffer {
  const newest = opts.version !== 'old';
  if (family === 4) {
    const igmp = encodeIgmpQuery({ version: newest ? 3 : 2, maxRespMs: opts.maxRespMs, intervalS: opts.intervalS });
    const ip = encodeIPv4(
      { tos: TOS_INTERNETWORK_CONTROL, ttl: 1, protocol: IP_PROTOCOL.IGMP, src: parseIp('0.0.0.0'), dst: parseIp(ALL_SYSTEMS), options: IPV4_ROUTER_ALERT },
      igmp,
    );
    return encodeEthernet({ dst: groupMac(ALL_SYSTEMS), src: from.mac, etherType: ETHERTYPE.IPV4 }, ip);
  }
  const dst = parseIp(ALL_NODES);
  const mld = encodeMldQuery(from.linkLocal, dst, { version: newest ? 2 : 1, maxRespMs: opts.maxRespMs, intervalS: opts.intervalS });
  const ip = encodeIPv6({ nextHeader: 0, hopLimit: 1, src: from.linkLocal, dst }, Buffer.concat([routerAlertHopByHop(IP_PROTOCOL.ICMPV6), mld]));
  return encodeEthernet({ dst: groupMac(ALL_NODES), src: from.mac, etherType: ETHERTYPE.IPV6 }, ip);
}

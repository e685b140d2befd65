/**
 * The frame `overlayctl trace` walks through the data path: what the
 * endpoint with address `src` would put on its interface to reach `dst` —
 * an ICMP echo request, a TCP SYN or a UDP datagram of `size` bytes of IP,
 * from its MAC to the MAC its neighbour table gives, or, when the address is
 * not known (or `arp` is asked for), the ARP request (IPv4) or neighbour
 * solicitation (IPv6) it sends first. Pure: wire/ codecs only.
 */
import {
  ARP_OP,
  encodeArp,
  encodeEthernet,
  encodeIcmp,
  encodeIcmpv6,
  encodeIPv4,
  encodeIPv6,
  encodeNeighborSolicitation,
  encodeUdp,
  ETHERTYPE,
  foldChecksum,
  formatIp,
  ICMP_TYPE,
  ICMPV6_TYPE,
  IP_PROTOCOL,
  ipFamily,
  onesComplementSum,
  parseIp,
  parseMac,
  pseudoHeaderSum,
  solicitedNodeMulticast,
} from '../wire/index.js';

/** `arp`: the address resolution for `dst` (ARP request, or neighbour solicitation over IPv6). */
export const TRACE_PROTOCOLS = ['icmp', 'tcp', 'udp', 'arp'] as const;
export type TraceProtocol = (typeof TRACE_PROTOCOLS)[number];

/** The packet to build, addresses and MACs already decided. */
export interface TraceFrameSpec {
  srcMac: string;
  /** undefined: `dst` is not in the neighbour table; the frame is the address resolution that comes first. */
  dstMac?: string;
  src: string;
  dst: string;
  proto: TraceProtocol;
  sport: number;
  dport: number;
  /** Length of the IP packet, headers included. */
  size: number;
  /** IPv4 "don't fragment" (IPv6 is never fragmented on the way). */
  df: boolean;
}

/** The built frame and one line that says what it is. */
export interface TraceFrame {
  frame: Buffer;
  summary: string;
}

const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
const TCP_HEADER = 20;
/** The smallest L4 header of each protocol (ICMP echo and UDP: 8 bytes). */
const L4_HEADER: Record<TraceProtocol, number> = { icmp: 8, tcp: TCP_HEADER, udp: 8, arp: 0 };
const TCP_SYN = 0x02;
/** An ID for the echo request, like ping's. */
const ECHO_ID = 0x7ace;

/** The smallest and largest IP packet of `proto` over `family` that trace builds. */
export function sizeRange(family: 4 | 6, proto: TraceProtocol): { min: number; max: number } {
  return { min: (family === 4 ? IPV4_HEADER : IPV6_HEADER) + L4_HEADER[proto], max: 65535 };
}

/** Builds the frame of `spec` (size within sizeRange, addresses of one family). */
export function buildTraceFrame(spec: TraceFrameSpec): TraceFrame {
  const family = ipFamily(spec.src) === 6 ? 6 : 4;
  const src = parseIp(spec.src);
  const dst = parseIp(spec.dst);
  const srcMac = parseMac(spec.srcMac);
  if (spec.dstMac === undefined || spec.proto === 'arp') return resolution(family, src, dst, srcMac, spec);

  const l4 = transport(family, src, dst, spec, spec.size - (family === 4 ? IPV4_HEADER : IPV6_HEADER));
  const protocol = spec.proto === 'tcp' ? IP_PROTOCOL.TCP : spec.proto === 'udp' ? IP_PROTOCOL.UDP : family === 4 ? IP_PROTOCOL.ICMP : IP_PROTOCOL.ICMPV6;
  const packet =
    family === 4
      ? encodeIPv4({ id: 0x7ace, flags: spec.df ? 0x2 : 0, ttl: 64, protocol, src, dst }, l4)
      : encodeIPv6({ nextHeader: protocol, hopLimit: 64, src, dst }, l4);
  const etherType = family === 4 ? ETHERTYPE.IPV4 : ETHERTYPE.IPV6;
  const frame = encodeEthernet({ dst: parseMac(spec.dstMac), src: srcMac, etherType }, packet);
  const ports = spec.proto === 'icmp' ? '' : ` ${spec.sport} → ${spec.dport}`;
  const summary = `${spec.proto} ${spec.src} → ${spec.dst}${ports}, ${spec.size} bytes of IP${spec.df && family === 4 ? ', DF' : ''}, ${spec.srcMac} → ${spec.dstMac}`;
  return { frame, summary };
}

/** The ARP request or neighbour solicitation an endpoint sends for an address it does not know. */
function resolution(family: 4 | 6, src: Buffer, dst: Buffer, srcMac: Buffer, spec: TraceFrameSpec): TraceFrame {
  if (family === 4) {
    const arp = encodeArp({ op: ARP_OP.REQUEST, sha: srcMac, spa: src, tha: Buffer.alloc(6), tpa: dst });
    const frame = encodeEthernet({ dst: Buffer.alloc(6, 0xff), src: srcMac, etherType: ETHERTYPE.ARP }, arp);
    return { frame, summary: `ARP who-has ${spec.dst} tell ${spec.src} (broadcast${unknown(spec)})` };
  }
  const group = solicitedNodeMulticast(dst);
  const ns = encodeNeighborSolicitation(src, group.ip, dst, srcMac);
  const packet = encodeIPv6({ nextHeader: IP_PROTOCOL.ICMPV6, hopLimit: 255, src, dst: group.ip }, ns);
  const frame = encodeEthernet({ dst: group.mac, src: srcMac, etherType: ETHERTYPE.IPV6 }, packet);
  return { frame, summary: `neighbour solicitation for ${spec.dst} from ${spec.src} (to ${formatIp(group.ip)}${unknown(spec)})` };
}

const unknown = (spec: TraceFrameSpec): string => (spec.dstMac === undefined ? `; ${spec.dst} is not in this host's neighbour table` : '');

/** The L4 message of `length` bytes: echo request, TCP SYN, or UDP datagram, the rest a counting pattern. */
function transport(family: 4 | 6, src: Buffer, dst: Buffer, spec: TraceFrameSpec, length: number): Buffer {
  const body = Buffer.alloc(length - L4_HEADER[spec.proto]);
  for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
  if (spec.proto === 'udp') return encodeUdp(src, dst, { srcPort: spec.sport, dstPort: spec.dport }, body);
  if (spec.proto === 'tcp') return tcpSyn(src, dst, spec.sport, spec.dport, body);
  if (family === 4) return encodeIcmp({ type: ICMP_TYPE.ECHO_REQUEST, code: 0, rest: (ECHO_ID << 16) | 1 }, body);
  const echo = Buffer.alloc(4 + body.length);
  echo.writeUInt16BE(ECHO_ID, 0);
  echo.writeUInt16BE(1, 2);
  body.copy(echo, 4);
  return encodeIcmpv6(src, dst, { type: ICMPV6_TYPE.ECHO_REQUEST, code: 0 }, echo);
}

/** A TCP SYN (no options) carrying `body`, checksummed over the pseudo-header. */
function tcpSyn(src: Buffer, dst: Buffer, sport: number, dport: number, body: Buffer): Buffer {
  const seg = Buffer.alloc(TCP_HEADER + body.length);
  seg.writeUInt16BE(sport, 0);
  seg.writeUInt16BE(dport, 2);
  seg.writeUInt32BE(0x7ace0001, 4);
  seg[12] = (TCP_HEADER / 4) << 4;
  seg[13] = TCP_SYN;
  seg.writeUInt16BE(64240, 14);
  body.copy(seg, TCP_HEADER);
  seg.writeUInt16BE(foldChecksum(onesComplementSum(seg, 0, seg.length, pseudoHeaderSum(src, dst, IP_PROTOCOL.TCP, seg.length))), 16);
  return seg;
}

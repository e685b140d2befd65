/**
 * One-line, tcpdump-like summaries of Ethernet frames for logs, captures and
 * overlayctl. describeFrame never throws: a malformed layer is named in the
 * text ("malformed IPv4 (TRUNCATED)") and the summary stops there.
 */
import { decodeArp } from './arp.js';
import { isWireError } from './errors.js';
import { decodeEthernet, ETHERTYPE } from './ethernet.js';
import { decodeIcmp, ICMP_CODE_FRAG_NEEDED, ICMP_TYPE } from './icmp.js';
import { decodeIcmpv6, decodeNeighborMessage, ICMPV6_TYPE } from './icmpv6.js';
import { formatIp } from './ip.js';
import { decodeIPv4, IP_PROTOCOL, IPV4_FLAG_MF } from './ipv4.js';
import { decodeIPv6, IPV6_HEADER_LENGTH } from './ipv6.js';
import { formatMac } from './mac.js';
import { decodeTcp, TCP_FLAG } from './tcp.js';
import { decodeUdp, UDP_HEADER_LENGTH } from './udp.js';
import { decodeVxlan, VXLAN_DEFAULT_PORT, VXLAN_HEADER_LENGTH } from './vxlan.js';

/** How many VXLAN encapsulations deep the summary follows. */
const MAX_NESTING = 2;
const IPV6_FRAGMENT_HEADER = 44;

/**
 * Summarises `frame`, e.g. "02:42:c6:13:01:02 > 02:42:c6:13:01:03 IPv4
 * 198.19.1.2 > 198.19.1.3 ICMP echo request id 7 seq 1, 98 bytes". Never throws.
 */
export function describeFrame(frame: Uint8Array): string {
  let text: string;
  try {
    text = describeEthernet(frame, 0, frame.length, 0);
  } catch (e) {
    text = `undecodable frame (${e instanceof Error ? e.message : String(e)})`;
  }
  return `${text}, ${frame.length} bytes`;
}

/** Runs a layer's describer; a WireError becomes "malformed <layer> (<code>)". */
function layer(name: string, describe: () => string): string {
  try {
    return describe();
  } catch (e) {
    if (isWireError(e)) return `malformed ${name} (${e.code})`;
    throw e;
  }
}

function describeEthernet(buf: Uint8Array, offset: number, end: number, depth: number): string {
  return layer('Ethernet', () => {
    const view = buf.subarray(0, end);
    const eth = decodeEthernet(view, offset);
    const parts = [`${formatMac(eth.src)} > ${formatMac(eth.dst)}`];
    for (const tag of eth.vlans) parts.push(`vlan ${tag.tci & 0x0fff}`);
    const at = offset + eth.headerLength;
    switch (eth.etherType) {
      case ETHERTYPE.ARP:
        parts.push(layer('ARP', () => describeArp(view, at)));
        break;
      case ETHERTYPE.IPV4:
        parts.push(layer('IPv4', () => describeIPv4(view, at, depth)));
        break;
      case ETHERTYPE.IPV6:
        parts.push(layer('IPv6', () => describeIPv6(view, at, depth)));
        break;
      default:
        parts.push(`ethertype 0x${eth.etherType.toString(16).padStart(4, '0')}`);
    }
    return parts.join(' ');
  });
}

function describeArp(buf: Uint8Array, offset: number): string {
  const arp = decodeArp(buf, offset);
  if (arp.op === 1) return `ARP who-has ${formatIp(arp.tpa)} tell ${formatIp(arp.spa)}`;
  if (arp.op === 2) return `ARP reply ${formatIp(arp.spa)} is-at ${formatMac(arp.sha)}`;
  return `ARP op ${arp.op} ${formatIp(arp.spa)} > ${formatIp(arp.tpa)}`;
}

function describeIPv4(buf: Uint8Array, offset: number, depth: number): string {
  const ip = decodeIPv4(buf, offset);
  let text = `IPv4 ${formatIp(ip.src)} > ${formatIp(ip.dst)}`;
  const view = buf.subarray(0, offset + ip.totalLength);
  const l4 = offset + ip.headerLength;
  if (ip.fragmentOffset !== 0 || (ip.flags & IPV4_FLAG_MF) !== 0) {
    text += ` frag id ${ip.id} off ${ip.fragmentOffset * 8}${ip.flags & IPV4_FLAG_MF ? '+' : ''}`;
    if (ip.fragmentOffset !== 0) return text;
    // A first fragment holds the start of a datagram whose stated length runs past it: show the ports only.
    if (ip.protocol === IP_PROTOCOL.UDP && view.length - l4 >= 4) return `${text} UDP ${readU16(view, l4)} > ${readU16(view, l4 + 2)}`;
  }
  return `${text} ${describeTransport(view, l4, ip.protocol, depth)}`;
}

function describeIPv6(buf: Uint8Array, offset: number, depth: number): string {
  const ip = decodeIPv6(buf, offset);
  const text = `IPv6 ${formatIp(ip.src)} > ${formatIp(ip.dst)}`;
  if (ip.nextHeader === IPV6_FRAGMENT_HEADER) return `${text} fragment`;
  const view = buf.subarray(0, offset + IPV6_HEADER_LENGTH + ip.payloadLength);
  return `${text} ${describeTransport(view, offset + IPV6_HEADER_LENGTH, ip.nextHeader, depth)}`;
}

const readU16 = (b: Uint8Array, at: number): number => (b[at] << 8) | b[at + 1];

/** Describes the L4 message at `offset`, which ends at `buf.length`. */
function describeTransport(buf: Uint8Array, offset: number, protocol: number, depth: number): string {
  switch (protocol) {
    case IP_PROTOCOL.ICMP:
      return layer('ICMP', () => describeIcmp(buf, offset));
    case IP_PROTOCOL.ICMPV6:
      return layer('ICMPv6', () => describeIcmpv6(buf, offset));
    case IP_PROTOCOL.UDP:
      return layer('UDP', () => describeUdp(buf, offset, depth));
    case IP_PROTOCOL.TCP:
      return layer('TCP', () => describeTcp(buf, offset));
    case IP_PROTOCOL.ESP:
      return `ESP ${buf.length - offset} bytes`;
    default:
      return `protocol ${protocol}`;
  }
}

function describeIcmp(buf: Uint8Array, offset: number): string {
  const m = decodeIcmp(buf, offset);
  const idSeq = `id ${m.rest >>> 16} seq ${m.rest & 0xffff}`;
  switch (m.type) {
    case ICMP_TYPE.ECHO_REQUEST:
      return `ICMP echo request ${idSeq}`;
    case ICMP_TYPE.ECHO_REPLY:
      return `ICMP echo reply ${idSeq}`;
    case ICMP_TYPE.DEST_UNREACHABLE:
      return m.code === ICMP_CODE_FRAG_NEEDED
        ? `ICMP unreachable need to frag (mtu ${m.rest & 0xffff})`
        : `ICMP unreachable code ${m.code}`;
    case ICMP_TYPE.TIME_EXCEEDED:
      return `ICMP time exceeded code ${m.code}`;
    default:
      return `ICMP type ${m.type} code ${m.code}`;
  }
}

function describeIcmpv6(buf: Uint8Array, offset: number): string {
  const m = decodeIcmpv6(buf, offset);
  const idSeq = (): string => (m.body.length >= 4 ? `id ${m.body.readUInt16BE(0)} seq ${m.body.readUInt16BE(2)}` : 'short');
  switch (m.type) {
    case ICMPV6_TYPE.ECHO_REQUEST:
      return `ICMPv6 echo request ${idSeq()}`;
    case ICMPV6_TYPE.ECHO_REPLY:
      return `ICMPv6 echo reply ${idSeq()}`;
    case ICMPV6_TYPE.PACKET_TOO_BIG:
      return `ICMPv6 packet too big${m.body.length >= 4 ? ` mtu ${m.body.readUInt32BE(0)}` : ''}`;
    case ICMPV6_TYPE.NEIGHBOR_SOLICITATION:
      return layer('neighbor solicitation', () => `ICMPv6 neighbor solicitation who-has ${formatIp(decodeNeighborMessage(m.body, m.type).target)}`);
    case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT:
      return layer('neighbor advertisement', () => {
        const na = decodeNeighborMessage(m.body, m.type);
        return `ICMPv6 neighbor advertisement ${formatIp(na.target)}${na.linkLayerAddress ? ` is-at ${formatMac(na.linkLayerAddress)}` : ''}`;
      });
    default:
      return `ICMPv6 type ${m.type} code ${m.code}`;
  }
}

function describeUdp(buf: Uint8Array, offset: number, depth: number): string {
  const udp = decodeUdp(buf, offset);
  const text = `UDP ${udp.srcPort} > ${udp.dstPort}`;
  if (udp.dstPort !== VXLAN_DEFAULT_PORT || depth >= MAX_NESTING) return `${text} length ${udp.length - UDP_HEADER_LENGTH}`;
  const at = offset + UDP_HEADER_LENGTH;
  const end = offset + udp.length;
  return `${text} ${layer('VXLAN', () => {
    const vx = decodeVxlan(buf.subarray(0, end), at);
    return `VXLAN vni ${vx.vni}: ${describeEthernet(buf, at + VXLAN_HEADER_LENGTH, end, depth + 1)}`;
  })}`;
}

const TCP_FLAG_LETTERS: [number, string][] = [
  [TCP_FLAG.SYN, 'S'],
  [TCP_FLAG.FIN, 'F'],
  [TCP_FLAG.RST, 'R'],
  [TCP_FLAG.PSH, 'P'],
  [TCP_FLAG.URG, 'U'],
  [TCP_FLAG.ECE, 'E'],
  [TCP_FLAG.CWR, 'W'],
  [TCP_FLAG.ACK, '.'],
];

function describeTcp(buf: Uint8Array, offset: number): string {
  const tcp = decodeTcp(buf, offset);
  const flags = TCP_FLAG_LETTERS.filter(([bit]) => tcp.flags & bit).map(([, letter]) => letter).join('');
  return `TCP ${tcp.srcPort} > ${tcp.dstPort} [${flags || 'none'}] seq ${tcp.seq} length ${Math.max(0, buf.length - offset - tcp.headerLength)}`;
}

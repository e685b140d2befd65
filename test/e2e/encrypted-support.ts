/**
 * What the encrypted-network end-to-end tests share: the JSON the agent
 * prints (stats, keys), a gossip key per run, the underlay packets the tests
 * capture, build, replay and damage, and a raw sender for them
 * (fixtures/raw_send.py: whole IPv4 packets, byte for byte).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  decodeIPv4,
  decodeUdp,
  decodeVxlan,
  encodeEthernet,
  encodeIcmp,
  encodeIPv4,
  encodeUdp,
  encodeVxlan,
  ETHERTYPE,
  IP_PROTOCOL,
  LINKTYPE_ETHERNET,
  parseIp,
  parseMac,
  readPcap,
  VXLAN_DEFAULT_PORT,
} from '../../src/wire/index.js';
import { run, type AgentHandle } from '../../src/testkit/agents.js';

/** `overlayctl stats --json`, the parts these tests read. */
export interface AgentStats {
  tx: { packets: number; bytes: number };
  rx: { packets: number; bytes: number };
  drops: Record<string, number>;
}

/** One key of a ring as `keys` / `rotate-key` print it. */
export interface KeyRow {
  tag: number;
  /** The key this host sends with. */
  sending: boolean;
  /** The key distributed ahead, which the next rotation step promotes. */
  pending?: boolean;
  ageSeconds: number;
}

/** `overlayctl keys NETWORK --json [--show-secrets]`. */
export interface KeysView {
  network: string;
  vni: number;
  carrier: 'ip' | 'udp';
  keySize: number;
  esn: boolean;
  keys: KeyRow[];
  /** SPI as hex text, "0x…". */
  sas: { direction: 'out' | 'in'; peer: string; spi: string; keyTag: number; seq: number }[];
  secrets?: { keys: { tag: number; material: string }[]; espSa: string; espSaRing: string };
}

/** `overlayctl network rotate-key NAME --json`: the ring and SAs once this host sends with the promoted key. */
export type RotateResult = KeysView;

/** The ESP port overlayd uses by default (carrier udp). */
export const ESP_UDP_PORT = 4500;

/** A fresh cluster gossip key: base64 of 16 random bytes. */
export function newGossipKey(): string {
  return randomBytes(16).toString('base64');
}

/** The tag of the key a ring sends with. */
export function sendingTag(keys: readonly KeyRow[]): number | undefined {
  return keys.find((k) => k.sending)?.tag;
}

/** Drop counters of `agent` now. */
export async function dropsOf(agent: AgentHandle): Promise<Record<string, number>> {
  return (await agent.ctl<AgentStats>('stats')).drops;
}

/** How much each drop reason grew between two readings. */
export function dropDelta(before: Record<string, number>, after: Record<string, number>, reason: string): number {
  return (after[reason] ?? 0) - (before[reason] ?? 0);
}

const RAW_SEND = join(import.meta.dirname, 'fixtures/raw_send.py');

/** Sends whole IPv4 packets from namespace `ns`, exactly as given (raw socket). */
export async function sendRaw(ns: string, packets: readonly Buffer[]): Promise<void> {
  const r = await run(['ip', 'netns', 'exec', ns, 'python3', RAW_SEND, ...packets.map((p) => p.toString('hex'))], 20_000);
  if (r.code !== 0) throw new Error(`raw_send.py failed (${r.code}): ${r.stderr}`);
}

/** Where a plaintext VXLAN frame claims to come from and go to. */
export interface PlaintextVxlan {
  /** Outer source: a real VTEP of the network. */
  vtepSrc: string;
  /** Outer destination: the victim host. */
  vtepDst: string;
  vni: number;
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  /** ICMP echo payload (what must never reach the container). */
  payload: Buffer;
  /** Echo sequence number. */
  seq: number;
}

/** A whole IPv4 packet: UDP to the VXLAN port carrying an inner ICMP echo request, as a plaintext peer would send it. */
export function plaintextVxlanPacket(p: PlaintextVxlan): Buffer {
  const icmp = encodeIcmp({ type: 8, code: 0, rest: (0x4f56 << 16) | p.seq }, p.payload);
  const inner = encodeIPv4({ protocol: IP_PROTOCOL.ICMP, src: parseIp(p.srcIp), dst: parseIp(p.dstIp) }, icmp);
  const frame = encodeEthernet({ dst: parseMac(p.dstMac), src: parseMac(p.srcMac), etherType: ETHERTYPE.IPV4 }, inner);
  const src = parseIp(p.vtepSrc);
  const dst = parseIp(p.vtepDst);
  const udp = encodeUdp(src, dst, { srcPort: 50000 + (p.seq % 1000), dstPort: VXLAN_DEFAULT_PORT }, encodeVxlan(p.vni, frame));
  return encodeIPv4({ protocol: IP_PROTOCOL.UDP, src, dst }, udp);
}

/** An IPv4 packet of a capture, with where its ESP starts (if it is ESP). */
export interface UnderlayPacket {
  /** The whole IPv4 packet. */
  ip: Buffer;
  src: string;
  dst: string;
  protocol: number;
  /** Offset of the ESP header in `ip`: after the IP header (protocol 50) or the UDP header (port 4500); undefined otherwise. */
  espOffset: number | undefined;
  /** VNI of a plaintext VXLAN datagram (UDP 4789), else undefined. */
  plaintextVni: number | undefined;
}

/** The IPv4 packets of a pcap (Ethernet or raw), classified. */
export function underlayPackets(pcap: Buffer, espPort = ESP_UDP_PORT): UnderlayPacket[] {
  const file = readPcap(pcap);
  const out: UnderlayPacket[] = [];
  for (const rec of file.packets) {
    let ip = rec.data;
    if (file.linkType === LINKTYPE_ETHERNET) {
      if (ip.readUInt16BE(12) !== ETHERTYPE.IPV4) continue;
      ip = ip.subarray(14);
    }
    if (ip.length < 20 || ip[0] >> 4 !== 4) continue;
    const h = decodeIPv4(ip);
    ip = ip.subarray(0, h.totalLength);
    let espOffset: number | undefined;
    let plaintextVni: number | undefined;
    if (h.protocol === IP_PROTOCOL.ESP) espOffset = h.headerLength;
    if (h.protocol === IP_PROTOCOL.UDP && ip.length >= h.headerLength + 8) {
      const udp = decodeUdp(ip, h.headerLength);
      if (udp.dstPort === espPort) espOffset = h.headerLength + 8;
      if (udp.dstPort === VXLAN_DEFAULT_PORT && ip.length >= h.headerLength + 16) plaintextVni = decodeVxlan(ip, h.headerLength + 8).vni;
    }
    out.push({ ip: Buffer.from(ip), src: h.src.join('.'), dst: h.dst.join('.'), protocol: h.protocol, espOffset, plaintextVni });
  }
  return out;
}

/** SPI and low sequence half of a captured ESP packet. */
export function espHeader(p: UnderlayPacket): { spi: number; seqLow: number } {
  const at = p.espOffset!;
  return { spi: p.ip.readUInt32BE(at), seqLow: p.ip.readUInt32BE(at + 4) };
}

/**
 * A copy of a captured ESP packet, changed by `edit` (which gets the copy and
 * the ESP offset). For ESP-in-UDP the UDP length follows the new size and the
 * checksum is zeroed (RFC 3948 allows it on IPv4); the kernel fixes the IP
 * total length and header checksum when it is sent.
 */
export function alteredEsp(p: UnderlayPacket, edit: (packet: Buffer, espOffset: number) => Buffer): Buffer {
  const at = p.espOffset!;
  const packet = edit(Buffer.from(p.ip), at);
  if (p.protocol === IP_PROTOCOL.UDP) {
    packet.writeUInt16BE(packet.length - (at - 8), at - 4);
    packet.writeUInt16BE(0, at - 2);
  }
  packet.writeUInt16BE(packet.length, 2);
  return packet;
}

/** A recognisable 16-byte pattern for `ping -p` (hex) and its bytes, to look for in captures. */
export function payloadPattern(): { hex: string; bytes: Buffer } {
  const bytes = Buffer.concat([Buffer.from('ovt!'), randomBytes(12)]);
  return { hex: bytes.toString('hex'), bytes };
}

/** Result of one `ping -c N`: requests sent and replies received. */
export interface PingCount {
  transmitted: number;
  received: number;
  output: string;
}

/** Runs `ping -c count -i interval` in `ns` to `target` and counts; resolves whatever the outcome. */
export async function pingCount(ns: string, target: string, count: number, intervalS = 0.01): Promise<PingCount> {
  const r = await run(['ip', 'netns', 'exec', ns, 'ping', '-q', '-c', String(count), '-i', String(intervalS), '-W', '2', target], 120_000);
  const m = r.stdout.match(/(\d+) packets transmitted, (\d+) (?:packets )?received/);
  return { transmitted: m ? Number(m[1]) : 0, received: m ? Number(m[2]) : 0, output: r.stdout + r.stderr };
}

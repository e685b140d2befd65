/**
 * What the multicast end-to-end test (multicast.test.ts) needs besides the
 * traffic (src/testkit/multicast.ts): the inner destinations of the VXLAN
 * datagrams a tcpdump on a host's underlay saw, the ESP among them, a kernel
 * `vxlan` host (no agent) that floods toward the overlayd VTEPs, and ping's
 * count of answers.
 */
import { nsExec, run } from '../../src/testkit/agents.js';
import type { Topology } from '../../src/testkit/topology.js';
import { ETHERTYPE, IP_PROTOCOL, LINKTYPE_ETHERNET, parseIp, PcapWriter, readPcap } from '../../src/wire/index.js';
import { vniOf, wirePackets } from './capture-wire-support.js';

/** One VXLAN datagram of a capture, by what it carried. */
export interface InnerPacket {
  timeUs: number;
  vni: number;
  /** Outer source address. */
  from: string;
  /** Inner IP destination (IPv6: 32 hex digits), '' when the frame is not IP. */
  dst: string;
}

/** The VXLAN datagrams (UDP port 4789) of a tcpdump capture, with their inner IP destination. */
export function vxlanPackets(pcap: Buffer): InnerPacket[] {
  return readPcap(pcap).packets.flatMap(({ timeUs, data }) => {
    const [p] = wirePackets(pcapOf(data));
    if (p?.proto !== IP_PROTOCOL.UDP || p.dport !== 4789 || p.data.length < 8 + 14) return [];
    return [{ timeUs, vni: vniOf(p.data), from: p.src, dst: innerDst(p.data.subarray(8)) }];
  });
}

/** The ESP packets (IP protocol 50, or UDP to `espPort`) of a tcpdump capture. */
export function espPackets(pcap: Buffer, espPort = 4500): number {
  return wirePackets(pcap).filter((p) => p.proto === IP_PROTOCOL.ESP || (p.proto === IP_PROTOCOL.UDP && p.dport === espPort)).length;
}

/** A one-frame Ethernet pcap, for wirePackets. */
function pcapOf(frame: Buffer): Buffer {
  const w = new PcapWriter(LINKTYPE_ETHERNET);
  return Buffer.concat([w.header(), w.record(frame, 0)]);
}

/** The IP destination of an Ethernet frame ('' when not IP). */
function innerDst(frame: Buffer): string {
  const type = frame.readUInt16BE(12);
  if (type === ETHERTYPE.IPV4 && frame.length >= 14 + 20) return [...frame.subarray(14 + 16, 14 + 20)].join('.');
  if (type === ETHERTYPE.IPV6 && frame.length >= 14 + 40) return frame.subarray(14 + 24, 14 + 40).toString('hex');
  return '';
}

/** An IPv6 address as vxlanPackets shows it (32 hex digits). */
export const hex6 = (addr: string): string => parseIp(addr).toString('hex');

/** A kernel vxlan host: its container's namespace, address and MAC. */
export interface KernelPeer {
  ns: string;
  ip: string;
  mac: string;
}

/**
 * Host `hostIndex` as a host without an agent: the kernel's vxlan on `vni`
 * behind a bridge, a container on it, and all-zeros FDB entries toward every
 * overlayd VTEP so it floods its own broadcast and multicast to them (the
 * kernel's head-end replication).
 */
export async function kernelPeer(topo: Topology, hostIndex: number, vni: number, vteps: string[], peer: { ip: string; mac: string }): Promise<KernelPeer> {
  const local = topo.host(hostIndex).addr4!;
  const ns = (await topo.container(hostIndex, 'k')).ns;
  const x = (...cmd: string[]) => nsExec(topo.host(hostIndex).ns, cmd);
  await x('ip', 'link', 'add', 'kvx', 'type', 'vxlan', 'id', String(vni), 'dstport', '4789', 'local', local, 'nolearning');
  await x('ip', 'link', 'add', 'kbr', 'type', 'bridge', 'mcast_snooping', '0');
  await x('ip', 'link', 'set', 'kvx', 'master', 'kbr', 'up');
  await x('ip', 'link', 'set', 'kbr', 'up');
  await x('ip', 'link', 'add', 'kve', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  await x('ip', 'link', 'set', 'kve', 'master', 'kbr', 'up');
  for (const vtep of vteps) await x('bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'kvx', 'dst', vtep, 'self', 'permanent');
  const k = (...cmd: string[]) => nsExec(ns, cmd);
  await k('ip', 'link', 'set', 'eth0', 'address', peer.mac, 'mtu', '1450', 'up');
  await k('ip', 'addr', 'add', `${peer.ip}/24`, 'dev', 'eth0');
  // As in kernel-interop.test.ts: no NIC here finishes a checksum the kernel left partial, so it must do it in software.
  await k('ethtool', '-K', 'eth0', 'tx', 'off');
  return { ns, ...peer };
}

/** ping from `ns`: `count` echoes every `intervalS`; resolves with how many were sent and answered. */
export async function pingCount(ns: string, target: string, count: number, intervalS: number): Promise<{ sent: number; received: number; output: string }> {
  const r = await run(['ip', 'netns', 'exec', ns, 'ping', '-q', '-c', String(count), '-i', String(intervalS), '-W', '2', target], 60_000);
  const m = r.stdout.match(/(\d+) packets transmitted, (\d+) received/);
  if (!m) throw new Error(`ping ${target} from ${ns} printed no summary:\n${r.stdout}${r.stderr}`);
  return { sent: Number(m[1]), received: Number(m[2]), output: r.stdout };
}

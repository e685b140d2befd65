/**
 * Frames for data-path tests: hand-made cases and a seeded generator of
 * thousands of frames of every kind the path handles (ARP, ND, IPv4/IPv6
 * with TCP/UDP/ICMP, VLAN tags, options, oversize with and without DF,
 * fragments, broadcast/multicast, and damaged versions of all of them).
 */
import {
  encodeArp,
  encodeEthernet,
  encodeIcmp,
  encodeIcmpv6,
  encodeIPv4,
  encodeIPv6,
  encodeNeighborSolicitation,
  encodeUdp,
  encodeVxlan,
  parseIp,
  parseMac,
  solicitedNodeMulticast,
  type VlanTag,
} from '../wire/index.js';
import { seededRandom } from '../gossip/clock.js';

export const VNI = 4096;
export const MTU = 1450;
export const LOCAL_MAC = '02:42:c6:13:01:02';
export const LOCAL_IP = '198.19.1.2';
export const LOCAL_IP6 = '2001:db8:1::2';
export const REMOTE_MAC = '02:42:c6:13:01:03';
export const REMOTE_IP = '198.19.1.3';
export const REMOTE_IP6 = '2001:db8:1::3';
export const REMOTE_VTEP = '198.18.0.2';
export const OTHER_MAC = '02:42:c6:13:01:04';
export const OTHER_IP = '198.19.1.4';
export const OTHER_VTEP = '198.18.0.3';

const mac = (s: string): Buffer => parseMac(s);
const ip = (s: string): Buffer => parseIp(s);

export function arpRequest(opts: { target?: string; sender?: string; srcMac?: string; vlans?: VlanTag[]; op?: number } = {}): Buffer {
  const srcMac = mac(opts.srcMac ?? LOCAL_MAC);
  const arp = encodeArp({ op: opts.op ?? 1, sha: srcMac, spa: ip(opts.sender ?? LOCAL_IP), tha: Buffer.alloc(6), tpa: ip(opts.target ?? REMOTE_IP) });
  return encodeEthernet({ dst: Buffer.alloc(6, 0xff), src: srcMac, vlans: opts.vlans, etherType: 0x0806 }, arp);
}

export function neighborSolicitation(opts: { target?: string; src?: string; hopLimit?: number; srcMac?: string; unicast?: boolean } = {}): Buffer {
  const target = ip(opts.target ?? REMOTE_IP6);
  const src = ip(opts.src ?? LOCAL_IP6);
  const group = solicitedNodeMulticast(target);
  const srcMac = mac(opts.srcMac ?? LOCAL_MAC);
  const dstIp = opts.unicast ? target : group.ip;
  const icmp = encodeNeighborSolicitation(src, dstIp, target, src.every((b) => b === 0) ? undefined : srcMac);
  const packet = encodeIPv6({ nextHeader: 58, hopLimit: opts.hopLimit ?? 255, src, dst: dstIp }, icmp);
  return encodeEthernet({ dst: opts.unicast ? mac(REMOTE_MAC) : group.mac, src: srcMac, etherType: 0x86dd }, packet);
}

export interface Ipv4Opts {
  size?: number;
  df?: boolean;
  protocol?: number;
  vlans?: VlanTag[];
  options?: Buffer;
  dstMac?: string;
  src?: string;
  dst?: string;
  fragmentOffset?: number;
  mf?: boolean;
  icmpType?: number;
  srcPort?: number;
}

/** An IPv4 frame whose IP packet is `size` bytes long. */
export function ipv4Frame(o: Ipv4Opts = {}): Buffer {
  const size = o.size ?? 84;
  const protocol = o.protocol ?? 17;
  const hlen = 20 + (o.options?.length ?? 0);
  const body = Buffer.alloc(Math.max(0, size - hlen));
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 3) & 0xff;
  let l4: Buffer = body;
  const src = ip(o.src ?? LOCAL_IP);
  const dst = ip(o.dst ?? REMOTE_IP);
  if (protocol === 17 && body.length >= 8) l4 = encodeUdp(src, dst, { srcPort: o.srcPort ?? 40000, dstPort: 5201 }, body.subarray(8));
  if (protocol === 1 && body.length >= 8) l4 = encodeIcmp({ type: o.icmpType ?? 8, code: 0, rest: 0x00070001 }, body.subarray(8));
  const flags = (o.df ? 0x2 : 0) | (o.mf ? 0x1 : 0);
  const packet = encodeIPv4({ id: 0x1234, ttl: 64, protocol, src, dst, flags, fragmentOffset: o.fragmentOffset ?? 0, options: o.options }, l4);
  return encodeEthernet({ dst: mac(o.dstMac ?? REMOTE_MAC), src: mac(LOCAL_MAC), vlans: o.vlans, etherType: 0x0800 }, packet);
}

/** An IPv6 frame whose IP packet is `size` bytes long. */
export function ipv6Frame(o: { size?: number; nextHeader?: number; icmpType?: number; dstMac?: string; vlans?: VlanTag[]; srcPort?: number } = {}): Buffer {
  const size = o.size ?? 104;
  const nh = o.nextHeader ?? 17;
  const src = ip(LOCAL_IP6);
  const dst = ip(REMOTE_IP6);
  const body = Buffer.alloc(Math.max(0, size - 40));
  for (let i = 0; i < body.length; i++) body[i] = (i * 5 + 1) & 0xff;
  let l4: Buffer = body;
  if (nh === 17 && body.length >= 8) l4 = encodeUdp(src, dst, { srcPort: o.srcPort ?? 40000, dstPort: 5201 }, body.subarray(8));
  if (nh === 58 && body.length >= 4) l4 = encodeIcmpv6(src, dst, { type: o.icmpType ?? 128, code: 0 }, body.subarray(4));
  const packet = encodeIPv6({ nextHeader: nh, hopLimit: 64, src, dst }, l4);
  return encodeEthernet({ dst: mac(o.dstMac ?? REMOTE_MAC), src: mac(LOCAL_MAC), vlans: o.vlans, etherType: 0x86dd }, packet);
}

/** A VXLAN payload as a remote VTEP would send it. */
export function vxlanFrom(frameSrcMac = REMOTE_MAC, vni = VNI, size = 84): Buffer {
  const f = ipv4Frame({ size, src: REMOTE_IP, dst: LOCAL_IP, dstMac: LOCAL_MAC });
  mac(frameSrcMac).copy(f, 6);
  return encodeVxlan(vni, f);
}

/** A small seeded PRNG (mulberry32, numbers in [0, 1)) so generated sets are reproducible. */
export const prng: (seed: number) => () => number = seededRandom;

/** `count` egress frames of every kind, some of them damaged. */
export function generateEgressFrames(count: number, seed = 1): Buffer[] {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const macs = [REMOTE_MAC, OTHER_MAC, LOCAL_MAC, '02:42:c6:13:09:09', 'ff:ff:ff:ff:ff:ff', '33:33:00:00:00:01', '01:00:5e:00:00:fb'];
  const tags = (): VlanTag[] | undefined => (rnd() < 0.15 ? Array.from({ length: int(1, 2) }, () => ({ tpid: pick([0x8100, 0x88a8]), tci: int(0, 0xffff) })) : undefined);
  const sizes = (): number => pick([int(20, 200), int(1400, 1500), int(1440, 1460), int(1500, 9000), MTU, MTU + 1, MTU - 4, MTU + 4]);
  const makers: (() => Buffer)[] = [
    () => arpRequest({ target: pick([REMOTE_IP, OTHER_IP, LOCAL_IP, '198.19.1.99']), vlans: rnd() < 0.1 ? [{ tpid: 0x8100, tci: 5 }] : undefined, op: rnd() < 0.1 ? 2 : 1 }),
    () => neighborSolicitation({ target: pick([REMOTE_IP6, LOCAL_IP6, '2001:db8:1::99']), src: rnd() < 0.1 ? '::' : LOCAL_IP6, hopLimit: rnd() < 0.1 ? 64 : 255, unicast: rnd() < 0.3 }),
    () => ipv4Frame({ size: sizes(), df: rnd() < 0.5, protocol: pick([1, 6, 17, 47]), vlans: tags(), dstMac: pick(macs), icmpType: pick([0, 8, 3, 11]), srcPort: int(1024, 65535), options: rnd() < 0.15 ? pick([Buffer.from([0x94, 0x04, 0, 0]), Buffer.from([0x01, 0x07, 0x07, 0x04, 0, 0, 0, 0]), Buffer.from([0x83, 0x07, 0x04, 1, 2, 3, 4, 1]), Buffer.from([0x01, 0x01, 0x01, 0x00])]) : undefined, fragmentOffset: rnd() < 0.1 ? int(1, 100) : 0, mf: rnd() < 0.1 }),
    () => ipv6Frame({ size: sizes(), nextHeader: pick([6, 17, 58, 58, 44]), icmpType: pick([1, 2, 128, 129, 135, 136, 133]), dstMac: pick(macs), vlans: tags(), srcPort: int(1024, 65535) }),
    () => {
      const f = Buffer.alloc(int(14, 1600));
      for (let i = 0; i < f.length; i++) f[i] = int(0, 255);
      mac(pick(macs)).copy(f, 0);
      return f;
    },
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    let f = pick(makers)();
    const damage = rnd();
    if (damage < 0.1) f = f.subarray(0, int(0, f.length));
    else if (damage < 0.2) {
      f = Buffer.from(f);
      for (let k = int(1, 4); k > 0; k--) f[int(0, f.length - 1)] ^= 1 << int(0, 7);
    }
    out.push(Buffer.from(f));
  }
  return out;
}

/** `count` ingress datagrams: good ones from known VTEPs and every kind of bad one. */
export function generateIngressDatagrams(count: number, seed = 2): { src: string; payload: Buffer }[] {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const out: { src: string; payload: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    let payload = vxlanFrom(pick([REMOTE_MAC, OTHER_MAC, '02:42:c6:13:09:09']), pick([VNI, VNI, VNI, 4097, 1]), pick([int(28, 200), int(1000, 1450)]));
    const damage = rnd();
    if (damage < 0.1) payload = payload.subarray(0, int(0, 30));
    else if (damage < 0.2) {
      payload = Buffer.from(payload);
      payload[int(0, 7)] ^= 1 << int(0, 7);
    }
    out.push({ src: pick([REMOTE_VTEP, REMOTE_VTEP, OTHER_VTEP, '198.18.0.77', '::ffff:198.18.0.2']), payload });
  }
  return out;
}

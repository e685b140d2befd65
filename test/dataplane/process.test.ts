import { beforeEach, describe, expect, it } from 'vitest';
import { ReferenceProcessor } from '../../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../../src/dataplane/tables.js';
import { countersFromSlots } from '../../src/dataplane/datapath.js';
import {
  decodeArp,
  decodeEthernet,
  decodeIcmp,
  decodeIcmpv6,
  decodeIPv4,
  decodeIPv6,
  decodeNeighborMessage,
  formatIp,
  formatMac,
  icmpv6ChecksumValid,
  internetChecksum,
  ipv4HeaderChecksumValid,
} from '../../src/wire/index.js';
import * as F from '../../src/testkit/frames.js';

let proc: ReferenceProcessor;
const counters = () => countersFromSlots(proc.counters);

beforeEach(() => {
  const fdb = new FdbTable();
  const neigh = new NeighbourTable();
  fdb.set(F.VNI, F.REMOTE_MAC, F.REMOTE_VTEP);
  neigh.set(F.VNI, F.REMOTE_IP, F.REMOTE_MAC);
  neigh.set(F.VNI, F.REMOTE_IP6, F.REMOTE_MAC);
  proc = new ReferenceProcessor(new Map([[F.VNI, { mtu: F.MTU }]]), fdb, neigh);
});

describe('egress: ARP and ND proxy', () => {
  it('answers an ARP request for a known address from the neighbour table', () => {
    const r = proc.processEgress(F.VNI, F.arpRequest());
    expect(r.drop).toBeUndefined();
    expect(r.out).toHaveLength(0);
    expect(r.reply).toHaveLength(1);
    const eth = decodeEthernet(r.reply[0]);
    expect(formatMac(eth.dst)).toBe(F.LOCAL_MAC);
    expect(formatMac(eth.src)).toBe(F.REMOTE_MAC);
    const arp = decodeArp(r.reply[0], 14);
    expect(arp.op).toBe(2);
    expect(formatMac(arp.sha)).toBe(F.REMOTE_MAC);
    expect(formatIp(arp.spa)).toBe(F.REMOTE_IP);
    expect(formatMac(arp.tha)).toBe(F.LOCAL_MAC);
    expect(formatIp(arp.tpa)).toBe(F.LOCAL_IP);
    expect(r.reply[0].length).toBe(42);
    expect(counters().arpReplies).toBe(1);
  });

  it('drops ARP for unknown addresses, gratuitous ARP, replies and tagged ARP, never forwarding them', () => {
    expect(proc.processEgress(F.VNI, F.arpRequest({ target: F.OTHER_IP })).drop).toBe('arp_unknown');
    expect(proc.processEgress(F.VNI, F.arpRequest({ target: F.LOCAL_IP, sender: F.LOCAL_IP })).drop).toBe('arp_other');
    expect(proc.processEgress(F.VNI, F.arpRequest({ op: 2 })).drop).toBe('arp_other');
    expect(proc.processEgress(F.VNI, F.arpRequest({ vlans: [{ tpid: 0x8100, tci: 7 }] })).drop).toBe('arp_other');
    expect(proc.processEgress(F.VNI, F.arpRequest({ srcMac: F.REMOTE_MAC })).drop).toBe('arp_unknown');
    expect(proc.processEgress(F.VNI, F.arpRequest().subarray(0, 30)).drop).toBe('malformed');
  });

  it('answers a neighbour solicitation with a checksummed solicited advertisement', () => {
    const r = proc.processEgress(F.VNI, F.neighborSolicitation());
    expect(r.reply).toHaveLength(1);
    const frame = r.reply[0];
    expect(frame.length).toBe(86);
    const ip6 = decodeIPv6(frame, 14);
    expect(formatIp(ip6.src)).toBe(F.REMOTE_IP6);
    expect(formatIp(ip6.dst)).toBe(F.LOCAL_IP6);
    expect(ip6.hopLimit).toBe(255);
    expect(icmpv6ChecksumValid(ip6.src, ip6.dst, frame, 54, 32)).toBe(true);
    const icmp = decodeIcmpv6(frame, 54, 32);
    const na = decodeNeighborMessage(icmp.body, icmp.type);
    expect(na.type).toBe(136);
    expect(na.flags).toBe(0x60000000);
    expect(formatMac(na.linkLayerAddress!)).toBe(F.REMOTE_MAC);
    expect(counters().ndReplies).toBe(1);
  });

  it('answers unicast solicitations too, so neighbour probes never cross the underlay', () => {
    expect(proc.processEgress(F.VNI, F.neighborSolicitation({ unicast: true })).reply).toHaveLength(1);
  });

  it('ignores duplicate address detection and refuses other ND messages', () => {
    expect(proc.processEgress(F.VNI, F.neighborSolicitation({ src: '::' })).drop).toBe('nd_dad');
    expect(proc.processEgress(F.VNI, F.neighborSolicitation({ hopLimit: 64 })).drop).toBe('nd_other');
    expect(proc.processEgress(F.VNI, F.neighborSolicitation({ target: '2001:db8:1::99' })).drop).toBe('nd_unknown');
    expect(proc.processEgress(F.VNI, F.ipv6Frame({ nextHeader: 58, icmpType: 134, size: 64, dstMac: '33:33:00:00:00:01' })).drop).toBe('nd_other');
  });
});

describe('egress: forwarding', () => {
  it('encapsulates a unicast frame to the VTEP of its destination MAC', () => {
    const frame = F.ipv4Frame({ size: 100 });
    const r = proc.processEgress(F.VNI, frame);
    expect(r.drop).toBeUndefined();
    expect(r.out).toHaveLength(1);
    expect(r.out[0].vtep).toBe(F.REMOTE_VTEP);
    expect([...r.out[0].payload.subarray(0, 8)]).toEqual([0x08, 0, 0, 0, 0x00, 0x10, 0x00, 0]);
    expect(r.out[0].payload.subarray(8).equals(frame)).toBe(true);
    expect(counters().tx).toEqual({ packets: 1, bytes: frame.length + 8 });
  });

  it('keeps one flow on one hash and spreads different flows', () => {
    const a = proc.processEgress(F.VNI, F.ipv4Frame({ srcPort: 1000 })).out[0].flowHash;
    const a2 = proc.processEgress(F.VNI, F.ipv4Frame({ srcPort: 1000, size: 300 })).out[0].flowHash;
    const hashes = new Set(Array.from({ length: 64 }, (_, i) => proc.processEgress(F.VNI, F.ipv4Frame({ srcPort: 2000 + i })).out[0].flowHash % 8));
    expect(a).toBe(a2);
    expect(hashes.size).toBeGreaterThan(4);
  });

  it('drops unknown destinations, broadcast and multicast, never flooding', () => {
    expect(proc.processEgress(F.VNI, F.ipv4Frame({ dstMac: F.OTHER_MAC })).drop).toBe('no_fdb');
    expect(proc.processEgress(F.VNI, F.ipv4Frame({ dstMac: 'ff:ff:ff:ff:ff:ff' })).drop).toBe('broadcast');
    expect(proc.processEgress(F.VNI, F.ipv4Frame({ dstMac: '01:00:5e:00:00:fb' })).drop).toBe('multicast');
    expect(proc.processEgress(4097, F.ipv4Frame()).drop).toBe('no_network');
    expect(proc.processEgress(F.VNI, Buffer.alloc(13)).drop).toBe('malformed');
    expect(counters().drops.no_fdb).toBe(1);
  });

  it('carries VLAN-tagged frames as they are', () => {
    const frame = F.ipv4Frame({ vlans: [{ tpid: 0x8100, tci: 100 }] });
    const r = proc.processEgress(F.VNI, frame);
    expect(r.out[0].payload.subarray(8).equals(frame)).toBe(true);
  });
});

describe('egress: MTU', () => {
  it('sends a frame of exactly the MTU and answers one byte more with DF by ICMP fragmentation-needed', () => {
    expect(proc.processEgress(F.VNI, F.ipv4Frame({ size: F.MTU, df: true })).out).toHaveLength(1);
    const big = F.ipv4Frame({ size: F.MTU + 1, df: true, protocol: 1 });
    const r = proc.processEgress(F.VNI, big);
    expect(r.drop).toBe('too_big');
    expect(r.out).toHaveLength(0);
    expect(r.reply).toHaveLength(1);
    const ip = decodeIPv4(r.reply[0], 14);
    expect(ipv4HeaderChecksumValid(r.reply[0], 14)).toBe(true);
    expect(formatIp(ip.src)).toBe(F.REMOTE_IP);
    expect(formatIp(ip.dst)).toBe(F.LOCAL_IP);
    const icmp = decodeIcmp(r.reply[0], 14 + 20);
    expect([icmp.type, icmp.code, icmp.rest & 0xffff]).toEqual([3, 4, F.MTU]);
    expect(internetChecksum(r.reply[0], 34)).toBe(0);
    expect(icmp.body.subarray(0, 20).equals(big.subarray(14, 34))).toBe(true);
    expect(ip.totalLength).toBe(576);
  });

  it('tells the sender the smaller MTU left for a tagged frame', () => {
    const r = proc.processEgress(F.VNI, F.ipv4Frame({ size: 1500, df: true, vlans: [{ tpid: 0x8100, tci: 9 }] }));
    expect(decodeIcmp(r.reply[0], 18 + 20).rest & 0xffff).toBe(F.MTU - 4);
  });

  it('does not answer ICMP errors or later fragments with ICMP errors', () => {
    const r1 = proc.processEgress(F.VNI, F.ipv4Frame({ size: 1500, df: true, protocol: 1, icmpType: 3 }));
    const r2 = proc.processEgress(F.VNI, F.ipv4Frame({ size: 1500, df: true, fragmentOffset: 10 }));
    expect([r1.drop, r1.reply.length, r2.drop, r2.reply.length]).toEqual(['too_big', 0, 'too_big', 0]);
  });

  it('fragments IPv4 without DF into pieces that fit and reassemble to the original', () => {
    const options = Buffer.from([0x94, 0x04, 0, 0, 0x07, 0x07, 0x04, 0, 0, 0, 0, 0]); // router alert (copied), record route (not)
    const frame = F.ipv4Frame({ size: 4000, options });
    const r = proc.processEgress(F.VNI, frame);
    expect(r.drop).toBeUndefined();
    expect(r.out.length).toBe(3);
    const hash = r.out[0].flowHash;
    const pieces = r.out.map((o) => o.payload.subarray(8));
    const data: Buffer[] = [];
    pieces.forEach((p, i) => {
      expect(p.length).toBeLessThanOrEqual(F.MTU + 14);
      expect(ipv4HeaderChecksumValid(p, 14)).toBe(true);
      const h = decodeIPv4(p, 14);
      expect(h.headerLength).toBe(i === 0 ? 32 : 24);
      if (i > 0) expect([...h.options]).toEqual([0x94, 0x04, 0, 0]);
      expect(h.flags & 1).toBe(i < pieces.length - 1 ? 1 : 0);
      expect(h.fragmentOffset * 8).toBe(data.reduce((n, d) => n + d.length, 0));
      data.push(p.subarray(14 + h.headerLength, 14 + h.totalLength));
      expect(r.out[i].flowHash).toBe(hash);
    });
    expect(Buffer.concat(data).equals(frame.subarray(14 + 32))).toBe(true);
    expect(counters().fragments).toBe(3);
  });

  it('answers oversize IPv6 with packet-too-big and drops other oversize frames', () => {
    const r = proc.processEgress(F.VNI, F.ipv6Frame({ size: 1500 }));
    expect(r.drop).toBe('too_big');
    const ip6 = decodeIPv6(r.reply[0], 14);
    const icmp = decodeIcmpv6(r.reply[0], 54);
    expect([icmp.type, icmp.code, icmp.body.readUInt32BE(0)]).toEqual([2, 0, F.MTU]);
    expect(icmpv6ChecksumValid(ip6.src, ip6.dst, r.reply[0], 54)).toBe(true);
    expect(r.reply[0].length).toBe(14 + 1280);
    const other = F.ipv4Frame({ size: 1500 });
    other.writeUInt16BE(0x88b5, 12);
    expect(proc.processEgress(F.VNI, other)).toMatchObject({ drop: 'too_big', reply: [] });
  });
});

describe('ingress', () => {
  it('delivers a frame from a known VTEP and counts it', () => {
    const r = proc.processIngress(F.REMOTE_VTEP, F.vxlanFrom());
    expect(r.vni).toBe(F.VNI);
    expect(r.frame!.length).toBe(84 + 14);
    expect(counters().rx.packets).toBe(1);
  });

  it('drops unknown VNIs, unknown sources, spoofed source MACs, bad flags and runts', () => {
    expect(proc.processIngress(F.REMOTE_VTEP, F.vxlanFrom(F.REMOTE_MAC, 4097)).drop).toBe('unknown_vni');
    expect(proc.processIngress(F.OTHER_VTEP, F.vxlanFrom()).drop).toBe('unknown_vtep');
    expect(proc.processIngress(F.REMOTE_VTEP, F.vxlanFrom(F.OTHER_MAC)).drop).toBe('spoofed_src');
    const noI = F.vxlanFrom();
    noI[0] = 0;
    expect(proc.processIngress(F.REMOTE_VTEP, noI).drop).toBe('bad_vxlan');
    expect(proc.processIngress(F.REMOTE_VTEP, Buffer.alloc(21, 8)).drop).toBe('malformed');
    expect(proc.processIngress('::ffff:198.18.0.2', F.vxlanFrom()).vni).toBe(F.VNI);
    expect(proc.processIngress('not an address', F.vxlanFrom()).drop).toBe('unknown_vtep');
  });

  it('survives thousands of generated and damaged inputs without throwing', () => {
    for (const f of F.generateEgressFrames(3000, 11)) proc.processEgress(F.VNI, f);
    for (const d of F.generateIngressDatagrams(3000, 12)) proc.processIngress(d.src, d.payload);
    const c = counters();
    const handled = Object.values(c.drops).reduce((a, b) => a + b, 0) + c.tx.packets + c.arpReplies + c.ndReplies + c.rx.packets;
    expect(handled).toBeGreaterThanOrEqual(6000);
  });
});

/**
 * The native per-frame decisions (native/pipeline/: the stage lists egress.c and ingress.c)
 * through processEgress/processIngress: one or more cases per rule of
 * docs/datapath.md, with the reply bytes decoded by the wire codecs and the
 * counters checked.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { NativeDatapath } from '../../src/dataplane/native.js';
import {
  decodeArp,
  decodeEthernet,
  decodeIcmp,
  decodeIPv4,
  decodeIPv6,
  formatIp,
  formatMac,
  icmpv6ChecksumValid,
  internetChecksum,
  ipv4HeaderChecksumValid,
} from '../../src/wire/index.js';
import * as F from '../../src/testkit/frames.js';
import { datapathWithRemote, haveAddon } from './support.js';

const hex = (mac: string): string => mac.replaceAll(':', '');

/** FNV-1a 32 over the given byte ranges, as docs/datapath.md "Flow hash" defines it. */
function fnv(...parts: Uint8Array[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) for (const b of p) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

describe.skipIf(!haveAddon())('native egress', () => {
  let dp: NativeDatapath;
  beforeEach(() => {
    dp = datapathWithRemote();
  });

  it('drops frames of unknown networks and runt or truncated-tag frames', () => {
    expect(dp.processEgress(F.VNI + 7, F.ipv4Frame()).drop).toBe('no_network');
    expect(dp.processEgress(F.VNI, Buffer.alloc(13)).drop).toBe('malformed');
    const tagged = F.ipv4Frame({ vlans: [{ tpid: 0x8100, tci: 5 }] });
    expect(dp.processEgress(F.VNI, tagged.subarray(0, 17)).drop).toBe('malformed');
    expect(dp.counters().drops).toMatchObject({ no_network: 1, malformed: 2 });
  });

  it('answers an ARP request with a 42-byte reply from the neighbour table', () => {
    const req = F.arpRequest();
    const r = dp.processEgress(F.VNI, req);
    expect(r.drop).toBeUndefined();
    expect(r.out).toHaveLength(0);
    expect(r.reply).toHaveLength(1);
    const reply = r.reply[0]!;
    expect(reply.length).toBe(42);
    const eth = decodeEthernet(reply);
    expect(formatMac(eth.dst)).toBe(F.LOCAL_MAC);
    expect(formatMac(eth.src)).toBe(F.REMOTE_MAC);
    expect(eth.etherType).toBe(0x0806);
    const arp = decodeArp(reply, 14);
    expect(arp.op).toBe(2);
    expect(formatMac(arp.sha)).toBe(F.REMOTE_MAC);
    expect(formatIp(arp.spa)).toBe(F.REMOTE_IP);
    expect(formatMac(arp.tha)).toBe(F.LOCAL_MAC);
    expect(formatIp(arp.tpa)).toBe(F.LOCAL_IP);
    expect(reply.subarray(14, 20).toString('hex')).toBe('000108000604');
    expect(dp.counters().arpReplies).toBe(1);
  });

  it('never forwards ARP: tagged, non-requests, gratuitous, unknown, own-MAC and malformed ARP are dropped', () => {
    expect(dp.processEgress(F.VNI, F.arpRequest({ vlans: [{ tpid: 0x8100, tci: 7 }] })).drop).toBe('arp_other');
    expect(dp.processEgress(F.VNI, F.arpRequest({ op: 2 })).drop).toBe('arp_other');
    expect(dp.processEgress(F.VNI, F.arpRequest({ sender: F.REMOTE_IP })).drop).toBe('arp_other');
    expect(dp.processEgress(F.VNI, F.arpRequest({ target: F.OTHER_IP })).drop).toBe('arp_unknown');
    expect(dp.processEgress(F.VNI, F.arpRequest({ srcMac: F.REMOTE_MAC })).drop).toBe('arp_unknown');
    expect(dp.processEgress(F.VNI, F.arpRequest().subarray(0, 41)).drop).toBe('malformed');
    const badHtype = F.arpRequest();
    badHtype[15] = 6;
    expect(dp.processEgress(F.VNI, badHtype).drop).toBe('malformed');
    expect(dp.counters().tx.packets).toBe(0);
  });

  it('answers a neighbour solicitation with an 86-byte solicited, override advertisement', () => {
    const r = dp.processEgress(F.VNI, F.neighborSolicitation());
    expect(r.drop).toBeUndefined();
    const na = r.reply[0]!;
    expect(na.length).toBe(86);
    expect(formatMac(na.subarray(0, 6))).toBe(F.LOCAL_MAC);
    expect(formatMac(na.subarray(6, 12))).toBe(F.REMOTE_MAC);
    const ip6 = decodeIPv6(na, 14);
    expect(ip6.nextHeader).toBe(58);
    expect(ip6.hopLimit).toBe(255);
    expect(ip6.payloadLength).toBe(32);
    expect(formatIp(ip6.src)).toBe(F.REMOTE_IP6);
    expect(formatIp(ip6.dst)).toBe(F.LOCAL_IP6);
    expect(na[54]).toBe(136);
    expect(na.readUInt32BE(58)).toBe(0x60000000);
    expect(formatIp(na.subarray(62, 78))).toBe(F.REMOTE_IP6);
    expect(na.subarray(78, 86).toString('hex')).toBe(`0201${hex(F.REMOTE_MAC)}`);
    expect(icmpv6ChecksumValid(ip6.src, ip6.dst, na, 54, 32)).toBe(true);
    expect(dp.counters().ndReplies).toBe(1);
  });

  it('never forwards neighbour discovery: other types, DAD, unknown targets, truncated NS', () => {
    expect(dp.processEgress(F.VNI, F.neighborSolicitation({ hopLimit: 64 })).drop).toBe('nd_other');
    expect(dp.processEgress(F.VNI, F.neighborSolicitation({ src: '::' })).drop).toBe('nd_dad');
    expect(dp.processEgress(F.VNI, F.neighborSolicitation({ target: '2001:db8:1::99' })).drop).toBe('nd_unknown');
    expect(dp.processEgress(F.VNI, F.neighborSolicitation({ srcMac: F.REMOTE_MAC })).drop).toBe('nd_unknown');
    expect(dp.processEgress(F.VNI, F.neighborSolicitation().subarray(0, 14 + 40 + 20)).drop).toBe('malformed');
    expect(dp.processEgress(F.VNI, F.ipv6Frame({ nextHeader: 58, icmpType: 134, dstMac: '33:33:00:00:00:01' })).drop).toBe('nd_other');
  });

  it('drops broadcast and multicast that is not ARP/ND, and unknown unicast', () => {
    expect(dp.processEgress(F.VNI, F.ipv4Frame({ dstMac: 'ff:ff:ff:ff:ff:ff' })).drop).toBe('broadcast');
    expect(dp.processEgress(F.VNI, F.ipv4Frame({ dstMac: '01:00:5e:00:00:fb' })).drop).toBe('multicast');
    expect(dp.processEgress(F.VNI, F.ipv6Frame({ dstMac: '33:33:00:00:00:01' })).drop).toBe('multicast');
    expect(dp.processEgress(F.VNI, F.ipv4Frame({ dstMac: F.OTHER_MAC })).drop).toBe('no_fdb');
    expect(dp.counters().drops).toMatchObject({ broadcast: 1, multicast: 2, no_fdb: 1 });
  });

  it('encapsulates a unicast frame: VXLAN header with the VNI, frame unchanged, flow hash over addresses and ports', () => {
    const frame = F.ipv4Frame({ protocol: 17, srcPort: 40001 });
    const r = dp.processEgress(F.VNI, frame);
    expect(r.drop).toBeUndefined();
    expect(r.out).toHaveLength(1);
    const out = r.out[0]!;
    expect(out.vtep).toBe(F.REMOTE_VTEP);
    expect(out.payload.subarray(0, 8).toString('hex')).toBe(`08000000${F.VNI.toString(16).padStart(6, '0')}00`);
    expect(out.payload.subarray(8).equals(frame)).toBe(true);
    expect(out.flowHash).toBe(fnv(frame.subarray(26, 34), frame.subarray(23, 24), frame.subarray(34, 38)));
    expect(dp.counters().tx).toEqual({ packets: 1, bytes: frame.length + 8 });
  });

  it('flow hash: fragments hash without ports, IPv6 with ports, other ethertypes over MACs and type', () => {
    const frag = F.ipv4Frame({ protocol: 17, mf: true });
    expect(dp.processEgress(F.VNI, frag).out[0]!.flowHash).toBe(fnv(frag.subarray(26, 34), frag.subarray(23, 24)));
    const v6 = F.ipv6Frame({ nextHeader: 17 });
    expect(dp.processEgress(F.VNI, v6).out[0]!.flowHash).toBe(fnv(v6.subarray(22, 54), v6.subarray(20, 21), v6.subarray(54, 58)));
    const other = Buffer.concat([F.ipv4Frame().subarray(0, 12), Buffer.from([0x88, 0xb5]), Buffer.alloc(50, 1)]);
    expect(dp.processEgress(F.VNI, other).out[0]!.flowHash).toBe(fnv(other.subarray(0, 14)));
  });

  it('passes a frame of exactly maxFrame and treats one byte more as oversize', () => {
    expect(dp.processEgress(F.VNI, F.ipv4Frame({ size: F.MTU, df: true })).out).toHaveLength(1);
    expect(dp.processEgress(F.VNI, F.ipv4Frame({ size: F.MTU + 1, df: true })).drop).toBe('too_big');
  });

  it('answers an oversize DF IPv4 packet with ICMP fragmentation-needed, swapped and with its tags', () => {
    const vlans = [{ tpid: 0x8100, tci: 9 }];
    const frame = F.ipv4Frame({ size: 1600, df: true, vlans, protocol: 17 });
    const r = dp.processEgress(F.VNI, frame);
    expect(r.drop).toBe('too_big');
    expect(r.out).toHaveLength(0);
    const reply = r.reply[0]!;
    expect(formatMac(reply.subarray(0, 6))).toBe(F.LOCAL_MAC);
    expect(formatMac(reply.subarray(6, 12))).toBe(F.REMOTE_MAC);
    expect(reply.subarray(12, 18).toString('hex')).toBe('81000009' + '0800');
    const ip = decodeIPv4(reply, 18);
    expect(reply[18]).toBe(0x45);
    expect(reply[19]).toBe(0xc0);
    expect(ip.ttl).toBe(64);
    expect(ip.protocol).toBe(1);
    expect(reply.readUInt16BE(18 + 4)).toBe(0);
    expect(reply.readUInt16BE(18 + 6)).toBe(0);
    expect(formatIp(ip.src)).toBe(F.REMOTE_IP);
    expect(formatIp(ip.dst)).toBe(F.LOCAL_IP);
    expect(ipv4HeaderChecksumValid(reply, 18)).toBe(true);
    expect(reply.length).toBe(18 + 20 + 8 + 548);
    const icmp = decodeIcmp(reply, 38);
    expect(icmp.type).toBe(3);
    expect(icmp.code).toBe(4);
    expect(reply.readUInt16BE(38 + 4)).toBe(0);
    expect(reply.readUInt16BE(38 + 6)).toBe(F.MTU + 14 - 18); // l3max
    expect(internetChecksum(reply, 38)).toBe(0);
    expect(reply.subarray(46).equals(frame.subarray(18, 18 + 548))).toBe(true);
    expect(dp.counters().icmpErrors).toBe(1);
  });

  it('stays quiet for oversize ICMP errors and non-first fragments', () => {
    expect(dp.processEgress(F.VNI, F.ipv4Frame({ size: 1600, df: true, protocol: 1, icmpType: 3 })).reply).toHaveLength(0);
    expect(dp.processEgress(F.VNI, F.ipv4Frame({ size: 1600, df: true, fragmentOffset: 10 })).reply).toHaveLength(0);
    expect(dp.processEgress(F.VNI, F.ipv4Frame({ size: 1600, df: true, protocol: 1, icmpType: 8 })).reply).toHaveLength(1);
    expect(dp.counters().drops.too_big).toBe(3);
  });

  it('fragments an oversize IPv4 packet without DF; the pieces reassemble to the original', () => {
    const options = Buffer.from([0x94, 0x04, 0, 0, 0x01, 0x07, 0x07, 0x04, 0, 0, 0, 0]); // router alert (copied) + NOP + RR (not copied)
    const frame = F.ipv4Frame({ size: 4000, protocol: 17, options });
    const r = dp.processEgress(F.VNI, frame);
    expect(r.drop).toBeUndefined();
    expect(r.out.length).toBe(3);
    const orig = decodeIPv4(frame, 14);
    const data: Buffer[] = [];
    let expectOffset = 0;
    for (const [i, o] of r.out.entries()) {
      const piece = o.payload.subarray(8);
      expect(o.flowHash).toBe(r.out[0]!.flowHash);
      expect(piece.length).toBeLessThanOrEqual(F.MTU + 14);
      expect(piece.subarray(0, 14).equals(frame.subarray(0, 14))).toBe(true);
      expect(ipv4HeaderChecksumValid(piece, 14)).toBe(true);
      const ip = decodeIPv4(piece, 14);
      expect(ip.id).toBe(orig.id);
      expect(ip.fragmentOffset * 8).toBe(expectOffset);
      const hlen = (piece[14]! & 0x0f) * 4;
      if (i === 0) expect(piece.subarray(34, 14 + hlen).equals(options)).toBe(true);
      else expect(piece.subarray(34, 14 + hlen).toString('hex')).toBe('94040000');
      const last = i === r.out.length - 1;
      expect((ip.flags & 1) === 1).toBe(!last);
      const chunk = piece.subarray(14 + hlen, 14 + ip.totalLength);
      if (!last) expect(chunk.length % 8).toBe(0);
      data.push(chunk);
      expectOffset += chunk.length;
    }
    expect(Buffer.concat(data).equals(frame.subarray(14 + 32))).toBe(true);
    expect(dp.counters().fragments).toBe(3);
    expect(dp.counters().tx.packets).toBe(3);
  });

  it('answers an oversize IPv6 packet with ICMPv6 packet-too-big, except oversize ICMPv6 errors', () => {
    const frame = F.ipv6Frame({ size: 2000 });
    const r = dp.processEgress(F.VNI, frame);
    expect(r.drop).toBe('too_big');
    const reply = r.reply[0]!;
    expect(reply.length).toBe(14 + 40 + 8 + 1232);
    const ip6 = decodeIPv6(reply, 14);
    expect(ip6.hopLimit).toBe(64);
    expect(ip6.nextHeader).toBe(58);
    expect(formatIp(ip6.src)).toBe(F.REMOTE_IP6);
    expect(formatIp(ip6.dst)).toBe(F.LOCAL_IP6);
    expect(reply[54]).toBe(2);
    expect(reply.readUInt32BE(58)).toBe(F.MTU);
    expect(icmpv6ChecksumValid(ip6.src, ip6.dst, reply, 54, 8 + 1232)).toBe(true);
    expect(reply.subarray(62).equals(frame.subarray(14, 14 + 1232))).toBe(true);
    expect(dp.processEgress(F.VNI, F.ipv6Frame({ size: 2000, nextHeader: 58, icmpType: 1 })).reply).toHaveLength(0);
  });

  it('drops oversize non-IP frames and malformed oversize IP', () => {
    const other = Buffer.concat([F.ipv4Frame().subarray(0, 12), Buffer.from([0x88, 0xb5]), Buffer.alloc(2000)]);
    expect(dp.processEgress(F.VNI, other).drop).toBe('too_big');
    const lying = F.ipv4Frame({ size: 1600 });
    lying.writeUInt16BE(3000, 16); // total length beyond the frame
    expect(dp.processEgress(F.VNI, lying).drop).toBe('malformed');
  });
});

describe.skipIf(!haveAddon())('native ingress', () => {
  let dp: NativeDatapath;
  beforeEach(() => {
    dp = datapathWithRemote();
  });

  it('delivers the inner frame of a VXLAN packet from the VTEP that owns the source MAC', () => {
    const payload = F.vxlanFrom(F.REMOTE_MAC);
    const r = dp.processIngress(F.REMOTE_VTEP, payload);
    expect(r.drop).toBeUndefined();
    expect(r.vni).toBe(F.VNI);
    expect(r.frame!.equals(payload.subarray(8))).toBe(true);
    expect(dp.processIngress(`::ffff:${F.REMOTE_VTEP}`, payload).vni).toBe(F.VNI);
    expect(dp.counters().rx).toEqual({ packets: 2, bytes: 2 * (payload.length - 8) });
  });

  it('ignores reserved bits but needs the I flag', () => {
    const payload = F.vxlanFrom(F.REMOTE_MAC);
    payload[0] = 0x0c;
    payload[7] = 0xff;
    expect(dp.processIngress(F.REMOTE_VTEP, payload).drop).toBeUndefined();
    payload[0] = 0x04;
    expect(dp.processIngress(F.REMOTE_VTEP, payload).drop).toBe('bad_vxlan');
  });

  it('drops runts, unknown VNIs, unknown VTEPs and spoofed sources', () => {
    expect(dp.processIngress(F.REMOTE_VTEP, F.vxlanFrom(F.REMOTE_MAC).subarray(0, 21)).drop).toBe('malformed');
    expect(dp.processIngress(F.REMOTE_VTEP, F.vxlanFrom(F.REMOTE_MAC, F.VNI + 1)).drop).toBe('unknown_vni');
    expect(dp.processIngress(F.OTHER_VTEP, F.vxlanFrom(F.REMOTE_MAC)).drop).toBe('unknown_vtep');
    expect(dp.processIngress('not an address', F.vxlanFrom(F.REMOTE_MAC)).drop).toBe('unknown_vtep');
    expect(dp.processIngress(F.REMOTE_VTEP, F.vxlanFrom('02:42:c6:13:09:09')).drop).toBe('spoofed_src');
    dp.fdbSet(F.VNI, F.OTHER_MAC, F.OTHER_VTEP);
    expect(dp.processIngress(F.REMOTE_VTEP, F.vxlanFrom(F.OTHER_MAC)).drop).toBe('spoofed_src');
    expect(dp.counters().drops).toMatchObject({ malformed: 1, unknown_vni: 1, unknown_vtep: 2, spoofed_src: 2 });
    expect(dp.counters().rx.packets).toBe(0);
  });
});

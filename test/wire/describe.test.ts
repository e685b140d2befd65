import { describe, expect, it } from 'vitest';
import {
  describeFrame,
  encodeArp,
  encodeEthernet,
  encodeIcmp,
  encodeIcmpv6,
  encodeIPv4,
  encodeIPv6,
  encodeNeighborAdvertisement,
  encodeNeighborSolicitation,
  encodeUdp,
  encodeVxlan,
  ETHERTYPE,
  IPV4_FLAG_MF,
  parseIp,
  parseMac,
  solicitedNodeMulticast,
} from '../../src/wire/index.js';

const macA = parseMac('02:42:c6:13:01:02');
const macB = parseMac('02:42:c6:13:01:03');
const a4 = parseIp('198.19.1.2');
const b4 = parseIp('198.19.1.3');
const a6 = parseIp('2001:db8::1');
const b6 = parseIp('2001:db8::2');
const eth = (etherType: number, payload: Buffer, vlans: { tpid: number; tci: number }[] = []): Buffer =>
  encodeEthernet({ dst: macB, src: macA, vlans, etherType }, payload);
const ping = encodeIcmp({ type: 8, code: 0, rest: (7 << 16) | 1 }, Buffer.alloc(56));
const pingFrame = eth(ETHERTYPE.IPV4, encodeIPv4({ protocol: 1, src: a4, dst: b4 }, ping));

describe('describeFrame', () => {
  it('summarises an ICMP echo request like the documented example', () => {
    expect(describeFrame(pingFrame)).toBe('02:42:c6:13:01:02 > 02:42:c6:13:01:03 IPv4 198.19.1.2 > 198.19.1.3 ICMP echo request id 7 seq 1, 98 bytes');
  });

  it('ARP requests and replies, with VLAN tags', () => {
    const req = encodeArp({ op: 1, sha: macA, spa: a4, tha: Buffer.alloc(6), tpa: b4 });
    expect(describeFrame(eth(ETHERTYPE.ARP, req, [{ tpid: 0x8100, tci: 0x2000 | 10 }]))).toBe(
      '02:42:c6:13:01:02 > 02:42:c6:13:01:03 vlan 10 ARP who-has 198.19.1.3 tell 198.19.1.2, 46 bytes',
    );
    const rep = encodeArp({ op: 2, sha: macB, spa: b4, tha: macA, tpa: a4 });
    expect(describeFrame(eth(ETHERTYPE.ARP, rep))).toContain('ARP reply 198.19.1.3 is-at 02:42:c6:13:01:03');
  });

  it('ICMP errors, fragments and other protocols', () => {
    const fragNeeded = encodeIcmp({ type: 3, code: 4, rest: 1400 }, Buffer.alloc(28));
    expect(describeFrame(eth(ETHERTYPE.IPV4, encodeIPv4({ protocol: 1, src: b4, dst: a4 }, fragNeeded)))).toContain('ICMP unreachable need to frag (mtu 1400)');
    const first = eth(ETHERTYPE.IPV4, encodeIPv4({ id: 5, flags: IPV4_FLAG_MF, protocol: 1, src: a4, dst: b4 }, ping.subarray(0, 16)));
    expect(describeFrame(first)).toContain('IPv4 198.19.1.2 > 198.19.1.3 frag id 5 off 0+ ICMP echo request');
    const later = eth(ETHERTYPE.IPV4, encodeIPv4({ id: 5, fragmentOffset: 2, protocol: 1, src: a4, dst: b4 }, ping.subarray(16)));
    expect(describeFrame(later)).toMatch(/frag id 5 off 16, 82 bytes$/);
    const bigUdp = encodeUdp(a4, b4, { srcPort: 4000, dstPort: 5000 }, Buffer.alloc(3000));
    const udpFirst = eth(ETHERTYPE.IPV4, encodeIPv4({ id: 6, flags: IPV4_FLAG_MF, protocol: 17, src: a4, dst: b4 }, bigUdp.subarray(0, 1480)));
    expect(describeFrame(udpFirst)).toMatch(/frag id 6 off 0\+ UDP 4000 > 5000, 1514 bytes$/);
    expect(describeFrame(eth(ETHERTYPE.IPV4, encodeIPv4({ protocol: 47, src: a4, dst: b4 }, Buffer.alloc(4))))).toContain('protocol 47');
    expect(describeFrame(eth(0x88cc, Buffer.alloc(30)))).toContain('ethertype 0x88cc');
  });

  it('follows VXLAN into the inner frame', () => {
    const outer = eth(ETHERTYPE.IPV4, encodeIPv4({ protocol: 17, src: parseIp('198.18.0.1'), dst: parseIp('198.18.0.2') }, encodeUdp(parseIp('198.18.0.1'), parseIp('198.18.0.2'), { srcPort: 50000, dstPort: 4789 }, encodeVxlan(4096, pingFrame))));
    expect(describeFrame(outer)).toBe(
      '02:42:c6:13:01:02 > 02:42:c6:13:01:03 IPv4 198.18.0.1 > 198.18.0.2 UDP 50000 > 4789 VXLAN vni 4096: ' +
        '02:42:c6:13:01:02 > 02:42:c6:13:01:03 IPv4 198.19.1.2 > 198.19.1.3 ICMP echo request id 7 seq 1, 148 bytes',
    );
  });

  it('IPv6: echo, neighbour discovery, UDP', () => {
    const echo6 = encodeIcmpv6(a6, b6, { type: 128, code: 0 }, Buffer.from('00070001', 'hex'));
    expect(describeFrame(eth(ETHERTYPE.IPV6, encodeIPv6({ nextHeader: 58, src: a6, dst: b6 }, echo6)))).toContain(
      'IPv6 2001:db8::1 > 2001:db8::2 ICMPv6 echo request id 7 seq 1',
    );
    const group = solicitedNodeMulticast(b6);
    const ns = encodeNeighborSolicitation(a6, group.ip, b6, macA);
    expect(describeFrame(eth(ETHERTYPE.IPV6, encodeIPv6({ nextHeader: 58, hopLimit: 255, src: a6, dst: group.ip }, ns)))).toContain(
      'ICMPv6 neighbor solicitation who-has 2001:db8::2',
    );
    const na = encodeNeighborAdvertisement(b6, a6, b6, macB, 0x60000000);
    expect(describeFrame(eth(ETHERTYPE.IPV6, encodeIPv6({ nextHeader: 58, hopLimit: 255, src: b6, dst: a6 }, na)))).toContain(
      'ICMPv6 neighbor advertisement 2001:db8::2 is-at 02:42:c6:13:01:03',
    );
    const udp = encodeUdp(a6, b6, { srcPort: 1000, dstPort: 53 }, Buffer.alloc(12));
    expect(describeFrame(eth(ETHERTYPE.IPV6, encodeIPv6({ nextHeader: 17, src: a6, dst: b6 }, udp)))).toContain('UDP 1000 > 53 length 12');
  });

  it('TCP flags', () => {
    const tcp = Buffer.from('80e80050' + '00000064' + '00000000' + '5012' + 'faf0' + '0000' + '0000', 'hex');
    expect(describeFrame(eth(ETHERTYPE.IPV4, encodeIPv4({ protocol: 6, src: a4, dst: b4 }, tcp)))).toContain('TCP 33000 > 80 [S.] seq 100 length 0');
  });

  it('names the malformed layer and never throws', () => {
    expect(describeFrame(Buffer.alloc(0))).toBe('malformed Ethernet (TRUNCATED), 0 bytes');
    expect(describeFrame(pingFrame.subarray(0, 40))).toBe('02:42:c6:13:01:02 > 02:42:c6:13:01:03 malformed IPv4 (TRUNCATED), 40 bytes');
    const badVersion = Buffer.from(pingFrame);
    badVersion[14] = 0x65;
    expect(describeFrame(badVersion)).toContain('malformed IPv4 (BAD_VERSION)');
    const shortIcmp = eth(ETHERTYPE.IPV4, encodeIPv4({ protocol: 1, src: a4, dst: b4 }, Buffer.alloc(4)));
    expect(describeFrame(shortIcmp)).toContain('malformed ICMP (TRUNCATED)');
    expect(describeFrame(new Uint8Array(pingFrame))).toContain('ICMP echo request');
  });
});

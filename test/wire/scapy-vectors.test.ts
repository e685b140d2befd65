/**
 * Known-good vectors from an independent implementation: scapy builds each
 * packet (and computes its checksums); our encoders must produce the same
 * bytes and our decoders must read scapy's bytes back to the same fields.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ETHERTYPE,
  decodeArp,
  decodeEthernet,
  decodeIcmp,
  decodeIcmpv6,
  decodeIPv4,
  decodeIPv6,
  decodeNeighborMessage,
  decodeTcp,
  decodeUdp,
  decodeVxlan,
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
  formatIp,
  formatMac,
  icmpv6ChecksumValid,
  ipv4HeaderChecksumValid,
  IPV4_FLAG_DF,
  ND_FLAG_OVERRIDE,
  ND_FLAG_SOLICITED,
  parseIp,
  parseMac,
  solicitedNodeMulticast,
  TCP_FLAG,
  udpChecksumValid,
} from '../../src/wire/index.js';
import { requirement } from '../../src/testkit/ci.js';
import { findScapyPython, hex, runScapy } from './support.js';

const python = findScapyPython();
const haveScapy = requirement(python !== null, 'python3 with scapy (apt-get install python3-scapy)');

const MAC_A = '02:42:c6:13:01:02';
const MAC_B = '02:42:c6:13:01:03';
const V4_A = '198.19.1.2';
const V4_B = '198.19.1.3';
const V6_A = '2001:db8::c6:13:1:2';
const V6_B = '2001:db8::1234:5678';

/** Each entry: a packet as scapy builds it, in hex. */
interface Vectors {
  icmpEcho: string;
  icmpFragNeeded: string;
  ipv4Options: string;
  arpRequest: string;
  arpReply: string;
  qinq: string;
  udp4: string;
  udp4ZeroChecksum: string;
  udp6: string;
  tcp: string;
  vxlan: string;
  echo6: string;
  tooBig6: string;
  ns: string;
  na: string;
  nsma: string;
  nsmac: string;
  v6Text: [string, string, string][];
}

const SCRIPT = `
MA, MB, A, B, A6, B6 = ${JSON.stringify([MAC_A, MAC_B, V4_A, V4_B, V6_A, V6_B])}
e = lambda: Ether(src=MA, dst=MB)
h = lambda p: bytes(p).hex()
v = {}
v['icmpEcho'] = h(e()/IP(src=A, dst=B, id=0x1234, flags='DF', ttl=64)/ICMP(type=8, id=7, seq=1)/Raw(bytes(range(56))))
inner = bytes(IP(src=B, dst=A, len=1500)/UDP(sport=5000, dport=6000))[:28]
v['icmpFragNeeded'] = h(IP(src=B, dst=A, tos=0xc0, id=0, ttl=64)/ICMP(type=3, code=4, nexthopmtu=1400)/Raw(inner))
v['ipv4Options'] = h(IP(src=A, dst=B, id=9, ttl=1, proto=2, options=[IPOption_Router_Alert()])/Raw(b'\\x11\\x64\\xee\\x9b\\x00\\x00\\x00\\x00'))
v['arpRequest'] = h(ARP(op=1, hwsrc=MA, psrc=A, hwdst='00:00:00:00:00:00', pdst=B))
v['arpReply'] = h(ARP(op=2, hwsrc=MB, psrc=B, hwdst=MA, pdst=A))
v['qinq'] = h(Ether(src=MA, dst=MB)/Dot1AD(vlan=100, prio=3)/Dot1Q(vlan=10, prio=5, id=1)/IP(src=A, dst=B)/UDP(sport=1, dport=2))
v['udp4'] = h(IP(src=A, dst=B)/UDP(sport=40000, dport=53)/Raw(b'hello, overlay!'))
probe = IP(bytes(IP(src=A, dst=B)/UDP(sport=1234, dport=5678)/Raw(b'\\x00\\x00abc')))
c = probe[UDP].chksum
v['udp4ZeroChecksum'] = h(IP(src=A, dst=B)/UDP(sport=1234, dport=5678)/Raw(c.to_bytes(2, 'big') + b'abc'))
v['udp6'] = h(IPv6(src=A6, dst=B6)/UDP(sport=40000, dport=4789)/Raw(b'odd'))
v['tcp'] = h(IP(src=A, dst=B)/TCP(sport=33000, dport=80, seq=0xfedcba98, ack=0x01020304, flags='SA', window=64240, options=[('MSS', 1460), ('NOP', None), ('WScale', 7)]))
v['vxlan'] = h(VXLAN(flags=0x08, vni=0xabcdef, NextProtocol=0)/Ether(src=MA, dst=MB, type=0x0800)/Raw(b'payload'))
v['echo6'] = h(IPv6(src=A6, dst=B6, hlim=64)/ICMPv6EchoRequest(id=7, seq=1, data=b'ping6'))
v['tooBig6'] = h(IPv6(src=B6, dst=A6)/ICMPv6PacketTooBig(mtu=1400)/Raw(bytes(IPv6(src=A6, dst=B6)/UDP(sport=1, dport=2))))
nsma = in6_getnsma(inet_pton(socket.AF_INET6, B6))
v['ns'] = h(IPv6(src=A6, dst=inet_ntop(socket.AF_INET6, nsma), hlim=255)/ICMPv6ND_NS(tgt=B6)/ICMPv6NDOptSrcLLAddr(lladdr=MA))
v['na'] = h(IPv6(src=B6, dst=A6, hlim=255)/ICMPv6ND_NA(tgt=B6, R=0, S=1, O=1)/ICMPv6NDOptDstLLAddr(lladdr=MB))
v['nsma'] = nsma.hex()
v['nsmac'] = in6_getnsmac(nsma)
import ipaddress, random
rnd = random.Random(7)
texts = []
for i in range(300):
    words = [rnd.choice([0, 0, 0, 1, 0xffff, rnd.randrange(65536)]) for _ in range(8)]
    if words[:6] == [0, 0, 0, 0, 0, 0xffff]:
        continue
    a = ipaddress.IPv6Address(b''.join(w.to_bytes(2, 'big') for w in words))
    texts.append([a.packed.hex(), a.compressed, a.exploded])
v['v6Text'] = texts
print(json.dumps(v))
`;

describe.skipIf(!haveScapy)('known-good vectors from scapy', () => {
  let v: Vectors;
  beforeAll(() => {
    v = runScapy<Vectors>(python as string, SCRIPT);
  });

  it('Ethernet + IPv4 + ICMP echo request: same bytes, fields read back', () => {
    const want = hex(v.icmpEcho);
    const icmp = encodeIcmp({ type: 8, code: 0, rest: (7 << 16) | 1 }, Buffer.from(Array.from({ length: 56 }, (_, i) => i)));
    const ip = encodeIPv4({ id: 0x1234, flags: IPV4_FLAG_DF, ttl: 64, protocol: 1, src: parseIp(V4_A), dst: parseIp(V4_B) }, icmp);
    expect(encodeEthernet({ dst: parseMac(MAC_B), src: parseMac(MAC_A), etherType: ETHERTYPE.IPV4 }, ip).toString('hex')).toBe(want.toString('hex'));

    const eth = decodeEthernet(want);
    expect([formatMac(eth.dst), formatMac(eth.src), eth.etherType, eth.headerLength]).toEqual([MAC_B, MAC_A, 0x0800, 14]);
    const h = decodeIPv4(want, 14);
    expect(h).toMatchObject({ ihl: 5, totalLength: 84, id: 0x1234, flags: IPV4_FLAG_DF, fragmentOffset: 0, ttl: 64, protocol: 1 });
    expect(ipv4HeaderChecksumValid(want, 14)).toBe(true);
    const m = decodeIcmp(want, 34);
    expect([m.type, m.code, m.rest >>> 16, m.rest & 0xffff, m.body.length]).toEqual([8, 0, 7, 1, 56]);
  });

  it('ICMP fragmentation needed with next-hop MTU', () => {
    const want = hex(v.icmpFragNeeded);
    const quoted = want.subarray(28);
    const icmp = encodeIcmp({ type: 3, code: 4, rest: 1400 }, quoted);
    const got = encodeIPv4({ tos: 0xc0, id: 0, ttl: 64, protocol: 1, src: parseIp(V4_B), dst: parseIp(V4_A) }, icmp);
    expect(got.toString('hex')).toBe(want.toString('hex'));
    expect(decodeIcmp(want, 20).rest & 0xffff).toBe(1400);
  });

  it('IPv4 with options (router alert)', () => {
    const want = hex(v.ipv4Options);
    const h = decodeIPv4(want);
    expect([h.ihl, h.headerLength, h.options.toString('hex'), h.protocol, h.ttl]).toEqual([6, 24, '94040000', 2, 1]);
    const got = encodeIPv4({ id: 9, ttl: 1, protocol: 2, src: h.src, dst: h.dst, options: h.options }, want.subarray(24));
    expect(got.toString('hex')).toBe(want.toString('hex'));
  });

  it('ARP request and reply', () => {
    for (const [vec, op, sha, spa, tha, tpa] of [
      [v.arpRequest, 1, MAC_A, V4_A, '00:00:00:00:00:00', V4_B],
      [v.arpReply, 2, MAC_B, V4_B, MAC_A, V4_A],
    ] as const) {
      const want = hex(vec);
      const got = encodeArp({ op, sha: parseMac(sha), spa: parseIp(spa), tha: parseMac(tha), tpa: parseIp(tpa) });
      expect(got.toString('hex')).toBe(want.toString('hex'));
      const p = decodeArp(want);
      expect([p.op, formatMac(p.sha), formatIp(p.spa), formatMac(p.tha), formatIp(p.tpa)]).toEqual([op, sha, spa, tha, tpa]);
    }
  });

  it('802.1ad + 802.1Q double tag', () => {
    const want = hex(v.qinq);
    const eth = decodeEthernet(want);
    expect(eth.vlans).toEqual([
      { tpid: 0x88a8, tci: (3 << 13) | 100 },
      { tpid: 0x8100, tci: (5 << 13) | (1 << 12) | 10 },
    ]);
    expect([eth.etherType, eth.headerLength]).toEqual([0x0800, 22]);
    const got = encodeEthernet({ dst: eth.dst, src: eth.src, vlans: eth.vlans, etherType: eth.etherType }, want.subarray(22));
    expect(got.equals(want)).toBe(true);
  });

  it('UDP over IPv4 and IPv6, including a checksum that computes to 0', () => {
    for (const [vec, a, b, off] of [
      [v.udp4, V4_A, V4_B, 20],
      [v.udp4ZeroChecksum, V4_A, V4_B, 20],
      [v.udp6, V6_A, V6_B, 40],
    ] as const) {
      const want = hex(vec);
      const u = decodeUdp(want, off);
      const payload = want.subarray(off + 8, off + u.length);
      const got = encodeUdp(parseIp(a), parseIp(b), { srcPort: u.srcPort, dstPort: u.dstPort }, payload);
      expect(got.toString('hex')).toBe(want.subarray(off).toString('hex'));
      expect(udpChecksumValid(parseIp(a), parseIp(b), want, off)).toBe(true);
    }
    expect(decodeUdp(hex(v.udp4ZeroChecksum), 20).checksum).toBe(0xffff);
  });

  it('TCP SYN-ACK with options', () => {
    const t = decodeTcp(hex(v.tcp), 20);
    expect(t).toMatchObject({ srcPort: 33000, dstPort: 80, seq: 0xfedcba98, ack: 0x01020304, dataOffset: 7, headerLength: 28, window: 64240 });
    expect(t.flags).toBe(TCP_FLAG.SYN | TCP_FLAG.ACK);
    expect(t.options.toString('hex')).toBe('020405b401030307');
  });

  it('VXLAN header', () => {
    const want = hex(v.vxlan);
    expect(decodeVxlan(want)).toEqual({ flags: 0x08, vni: 0xabcdef });
    expect(encodeVxlan(0xabcdef, want.subarray(8)).equals(want)).toBe(true);
  });

  it('IPv6 + ICMPv6 echo request and packet too big', () => {
    const want = hex(v.echo6);
    const h = decodeIPv6(want);
    expect([h.payloadLength, h.nextHeader, h.hopLimit, formatIp(h.src), formatIp(h.dst)]).toEqual([13, 58, 64, V6_A, V6_B]);
    const body = want.subarray(44);
    const icmp = encodeIcmpv6(h.src, h.dst, { type: 128, code: 0 }, body);
    expect(encodeIPv6({ nextHeader: 58, src: h.src, dst: h.dst }, icmp).toString('hex')).toBe(want.toString('hex'));
    expect(icmpv6ChecksumValid(h.src, h.dst, want, 40)).toBe(true);

    const tooBig = hex(v.tooBig6);
    const m = decodeIcmpv6(tooBig, 40);
    expect([m.type, m.code, m.body.readUInt32BE(0)]).toEqual([2, 0, 1400]);
    expect(encodeIcmpv6(parseIp(V6_B), parseIp(V6_A), { type: 2, code: 0 }, m.body).equals(tooBig.subarray(40))).toBe(true);
  });

  it('neighbour solicitation and advertisement', () => {
    const nsma = solicitedNodeMulticast(parseIp(V6_B));
    expect(nsma.ip.toString('hex')).toBe(v.nsma);
    expect(formatMac(nsma.mac)).toBe(v.nsmac);

    const ns = hex(v.ns);
    expect(encodeNeighborSolicitation(parseIp(V6_A), nsma.ip, parseIp(V6_B), parseMac(MAC_A)).equals(ns.subarray(40))).toBe(true);
    const nsMsg = decodeNeighborMessage(decodeIcmpv6(ns, 40).body, 135);
    expect([formatIp(nsMsg.target), nsMsg.flags, formatMac(nsMsg.linkLayerAddress as Buffer)]).toEqual([V6_B, 0, MAC_A]);

    const na = hex(v.na);
    const flags = ND_FLAG_SOLICITED | ND_FLAG_OVERRIDE;
    expect(encodeNeighborAdvertisement(parseIp(V6_B), parseIp(V6_A), parseIp(V6_B), parseMac(MAC_B), flags).toString('hex')).toBe(
      na.subarray(40).toString('hex'),
    );
    const naMsg = decodeNeighborMessage(decodeIcmpv6(na, 40).body, 136);
    expect([naMsg.type, naMsg.flags >>> 0, formatMac(naMsg.linkLayerAddress as Buffer)]).toEqual([136, flags >>> 0, MAC_B]);
    expect(naMsg.options).toHaveLength(1);
    expect(icmpv6ChecksumValid(parseIp(V6_B), parseIp(V6_A), na, 40)).toBe(true);
  });

  it('IPv6 text: RFC 5952 formatting and parsing agree with Python ipaddress', () => {
    expect(v.v6Text.length).toBeGreaterThan(200);
    for (const [packed, compressed, exploded] of v.v6Text) {
      expect(formatIp(hex(packed))).toBe(compressed);
      expect(parseIp(compressed).toString('hex')).toBe(packed);
      expect(parseIp(exploded).toString('hex')).toBe(packed);
    }
  });
});

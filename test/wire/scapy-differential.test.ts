/**
 * Randomised differential test against scapy: scapy builds a few hundred
 * packets with random field values and reports how it dissects them; our
 * decoders must read the same fields from the same bytes, and our encoders
 * must rebuild the same bytes from those fields.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeArp,
  decodeEthernet,
  decodeIcmp,
  decodeIPv4,
  decodeIPv6,
  decodeTcp,
  decodeUdp,
  encodeArp,
  encodeEthernet,
  encodeIcmp,
  encodeIPv4,
  encodeIPv6,
  encodeUdp,
  formatIp,
  formatMac,
  ipv4HeaderChecksumValid,
  udpChecksumValid,
} from '../../src/wire/index.js';
import { requirement } from '../../src/testkit/ci.js';
import { findScapyPython, hex, runScapy } from './support.js';

const python = findScapyPython();
const haveScapy = requirement(python !== null, 'python3 with scapy (apt-get install python3-scapy)');

interface Case {
  kind: 'ipv4' | 'ipv6' | 'arp' | 'eth';
  hex: string;
  f: Record<string, number | string | number[][]>;
}

const SCRIPT = `
import random
rnd = random.Random(20261123)
R = lambda bits: rnd.getrandbits(bits)
ip4 = lambda: '198.%d.%d.%d' % (rnd.choice([18, 19]), R(8), R(8))
ip6 = lambda: '2001:db8:%x::%x:%x' % (R(16), R(16), R(16))
mac = lambda: '02:%02x:%02x:%02x:%02x:%02x' % tuple(R(8) for _ in range(5))
opts = [b'', b'\\x94\\x04\\x00\\x00', b'\\x01\\x01\\x01\\x00', b'\\x07\\x07\\x04' + bytes(4) + b'\\x00']
cases = []
for i in range(150):
    data = bytes(R(8) for _ in range(rnd.randrange(0, 60)))
    l4 = rnd.choice(['udp', 'tcp', 'icmp', 'raw'])
    o = rnd.choice(opts)
    whole = l4 != 'raw'  # scapy dissects L4 only in unfragmented packets
    ip = IP(src=ip4(), dst=ip4(), tos=R(8), id=R(16), flags=R(3) & (6 if whole else 7), frag=0 if whole else R(13), ttl=R(8), options=[IPOption(o)] if o else [])
    if l4 == 'udp':
        p = ip/UDP(sport=R(16), dport=R(16))/Raw(data)
    elif l4 == 'tcp':
        p = ip/TCP(sport=R(16), dport=R(16), seq=R(32), ack=R(32), flags=R(9), window=R(16), urgptr=R(16), options=rnd.choice([[], [('MSS', R(16))], [('NOP', None), ('WScale', R(4))], [('SAckOK', b''), ('Timestamp', (R(32), R(32)))]]))/Raw(data)
    elif l4 == 'icmp':
        p = ip/ICMP(type=rnd.choice([0, 8, 13]), code=R(8), id=R(16), seq=R(16))/Raw(data)
    else:
        p = ip/Raw(data)
        p.proto = R(8)
    b = bytes(p)
    q = IP(b)
    f = dict(version=q.version, ihl=q.ihl, tos=q.tos, len=q.len, id=q.id, flags=int(q.flags), frag=q.frag, ttl=q.ttl, proto=q.proto, chksum=q.chksum, src=q.src, dst=q.dst, options=bytes(b[20:q.ihl*4]).hex(), l4=l4)
    if l4 == 'udp' and UDP in q:
        f.update(sport=q[UDP].sport, dport=q[UDP].dport, ulen=q[UDP].len, uchk=q[UDP].chksum)
    if l4 == 'tcp' and TCP in q:
        t = q[TCP]
        f.update(sport=t.sport, dport=t.dport, seq=t.seq, ack=t.ack, dataofs=t.dataofs, tflags=int(t.flags), window=t.window, tchk=t.chksum, urg=t.urgptr)
    if l4 == 'icmp' and ICMP in q:
        f.update(type=q[ICMP].type, code=q[ICMP].code, ichk=q[ICMP].chksum)
    cases.append(dict(kind='ipv4', hex=b.hex(), f=f))
for i in range(60):
    p = IPv6(src=ip6(), dst=ip6(), tc=R(8), fl=R(20), hlim=R(8))/UDP(sport=R(16), dport=R(16))/Raw(bytes(R(8) for _ in range(rnd.randrange(0, 40))))
    b = bytes(p); q = IPv6(b)
    cases.append(dict(kind='ipv6', hex=b.hex(), f=dict(tc=q.tc, fl=q.fl, plen=q.plen, nh=q.nh, hlim=q.hlim, src=q.src, dst=q.dst, uchk=q[UDP].chksum)))
for i in range(40):
    p = ARP(op=R(16), hwsrc=mac(), psrc=ip4(), hwdst=mac(), pdst=ip4())
    q = ARP(bytes(p))
    cases.append(dict(kind='arp', hex=bytes(p).hex(), f=dict(op=q.op, hwsrc=q.hwsrc, psrc=q.psrc, hwdst=q.hwdst, pdst=q.pdst)))
for i in range(40):
    tags = []
    p = Ether(src=mac(), dst=mac())
    for t in range(rnd.randrange(0, 3)):
        tag = (Dot1AD if t == 0 and rnd.random() < 0.5 else Dot1Q)(prio=R(3), id=R(1), vlan=R(12))
        tags.append([0x88a8 if isinstance(tag, Dot1AD) else 0x8100, (tag.prio << 13) | (tag.id << 12) | tag.vlan])
        p = p/tag
    p = p/IPv6(src=ip6(), dst=ip6(), nh=59)
    cases.append(dict(kind='eth', hex=bytes(p).hex(), f=dict(src=p.src, dst=p.dst, tags=tags)))
print(json.dumps(cases))
`;

describe.skipIf(!haveScapy)('randomised differential against scapy', () => {
  let cases: Case[];
  beforeAll(() => {
    cases = runScapy<Case[]>(python as string, SCRIPT);
  });

  it('IPv4 headers, and the UDP/TCP/ICMP inside them, read and rebuilt alike', () => {
    const ipv4 = cases.filter((c) => c.kind === 'ipv4');
    expect(ipv4.length).toBe(150);
    let udp = 0;
    let tcp = 0;
    let icmp = 0;
    for (const { hex: h, f } of ipv4) {
      const b = hex(h);
      const ip = decodeIPv4(b);
      const got = { version: 4, ihl: ip.ihl, tos: ip.tos, len: ip.totalLength, id: ip.id, flags: ip.flags, frag: ip.fragmentOffset, ttl: ip.ttl };
      expect(got, h).toEqual({ version: f.version, ihl: f.ihl, tos: f.tos, len: f.len, id: f.id, flags: f.flags, frag: f.frag, ttl: f.ttl });
      expect([ip.protocol, ip.checksum, formatIp(ip.src), formatIp(ip.dst), ip.options.toString('hex')]).toEqual([f.proto, f.chksum, f.src, f.dst, f.options]);
      expect(ipv4HeaderChecksumValid(b)).toBe(true);
      const rebuilt = encodeIPv4(
        { tos: ip.tos, id: ip.id, flags: ip.flags, fragmentOffset: ip.fragmentOffset, ttl: ip.ttl, protocol: ip.protocol, src: ip.src, dst: ip.dst, options: ip.options },
        b.subarray(ip.headerLength, ip.totalLength),
      );
      expect(rebuilt.equals(b), h).toBe(true);
      const l4 = ip.headerLength;
      if (f.l4 === 'udp') {
        udp++;
        const u = decodeUdp(b, l4);
        expect([u.srcPort, u.dstPort, u.length, u.checksum]).toEqual([f.sport, f.dport, f.ulen, f.uchk]);
        expect(udpChecksumValid(ip.src, ip.dst, b, l4)).toBe(true);
        expect(encodeUdp(ip.src, ip.dst, u, b.subarray(l4 + 8, l4 + u.length)).equals(b.subarray(l4, l4 + u.length))).toBe(true);
      } else if (f.l4 === 'tcp') {
        tcp++;
        const t = decodeTcp(b, l4);
        expect([t.srcPort, t.dstPort, t.seq, t.ack, t.dataOffset, t.flags, t.window, t.checksum, t.urgent]).toEqual([
          f.sport, f.dport, f.seq, f.ack, f.dataofs, f.tflags, f.window, f.tchk, f.urg,
        ]);
      } else if (f.l4 === 'icmp') {
        icmp++;
        const m = decodeIcmp(b, l4, ip.totalLength - l4);
        expect([m.type, m.code, m.checksum]).toEqual([f.type, f.code, f.ichk]);
        expect(encodeIcmp(m, m.body).equals(b.subarray(l4, ip.totalLength))).toBe(true);
      }
    }
    expect(Math.min(udp, tcp, icmp)).toBeGreaterThan(10);
  });

  it('IPv6 headers and UDP-over-IPv6 checksums', () => {
    for (const { hex: h, f } of cases.filter((c) => c.kind === 'ipv6')) {
      const b = hex(h);
      const ip = decodeIPv6(b);
      expect([ip.trafficClass, ip.flowLabel, ip.payloadLength, ip.nextHeader, ip.hopLimit, formatIp(ip.src), formatIp(ip.dst)]).toEqual([
        f.tc, f.fl, f.plen, f.nh, f.hlim, f.src, f.dst,
      ]);
      expect(encodeIPv6(ip, b.subarray(40)).equals(b)).toBe(true);
      expect(decodeUdp(b, 40).checksum).toBe(f.uchk);
      expect(udpChecksumValid(ip.src, ip.dst, b, 40)).toBe(true);
    }
  });

  it('ARP with random opcodes and addresses', () => {
    for (const { hex: h, f } of cases.filter((c) => c.kind === 'arp')) {
      const p = decodeArp(hex(h));
      expect([p.op, formatMac(p.sha), formatIp(p.spa), formatMac(p.tha), formatIp(p.tpa)]).toEqual([f.op, f.hwsrc, f.psrc, f.hwdst, f.pdst]);
      expect(encodeArp(p).equals(hex(h))).toBe(true);
    }
  });

  it('Ethernet with 0–2 random VLAN tags', () => {
    for (const { hex: h, f } of cases.filter((c) => c.kind === 'eth')) {
      const b = hex(h);
      const e = decodeEthernet(b);
      const tags = f.tags as number[][];
      expect([formatMac(e.src), formatMac(e.dst), e.vlans.map((t) => [t.tpid, t.tci]), e.etherType]).toEqual([f.src, f.dst, tags, 0x86dd]);
      expect(encodeEthernet(e, b.subarray(e.headerLength)).equals(b)).toBe(true);
    }
  });
});

/**
 * IGMP and MLD codecs against scapy (an independent implementation): scapy
 * builds every message kind a snooping switch reads and we decode the same
 * fields; we build queries and reports and scapy dissects what we meant.
 * Then the shared helpers (group MACs, link-local groups, time codes,
 * hop-by-hop), and bad input: only WireError, never another exception.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalGroup,
  decodeFloatCode,
  decodeIgmp,
  decodeMld,
  encodeIgmpQuery,
  encodeIgmpReport,
  encodeMldQuery,
  encodeMldReport,
  formatMac,
  groupMac,
  internetChecksum,
  isLinkLocalGroup,
  isMulticastIp,
  isWireError,
  parseIp,
  recordListens,
  routerAlertHopByHop,
  skipHopByHop,
  type GroupRecord,
  type MembershipMessage,
} from '../../src/wire/index.js';
import { requirement } from '../../src/testkit/ci.js';
import { findScapyPython, runScapy, wireErrorCode } from './support.js';

const python = findScapyPython();
const haveScapy = requirement(python !== null, 'python3 with scapy (apt-get install python3-scapy)');

const SRC6 = parseIp('fe80::1');
const DST6 = parseIp('ff02::16');

interface Built {
  name: string;
  hex: string;
  want: MembershipMessage;
}

/** Messages scapy builds, with what they say in our terms. Python literals are written in JSON form. */
const BUILD = `
from scapy.contrib.igmp import IGMP
from scapy.contrib.igmpv3 import IGMPv3, IGMPv3mr, IGMPv3gr, IGMPv3mq
from scapy.layers.inet6 import ICMPv6MLReport, ICMPv6MLDone, ICMPv6MLQuery, ICMPv6MLReport2, ICMPv6MLDMultAddrRec, ICMPv6MLQuery2
T = {1: 'is_include', 2: 'is_exclude', 3: 'to_include', 4: 'to_exclude', 5: 'allow', 6: 'block'}
out = []
def add(name, pkt, want):
    out.append({'name': name, 'hex': bytes(pkt).hex(), 'want': want})
def rep(version, records):
    return {'kind': 'report', 'version': version, 'records': records}
def rec(t, g, s=[]):
    return {'type': t, 'group': g, 'sources': s}
add('igmpv2 report', IGMP(type=0x16, gaddr='239.1.2.3'), rep(2, [rec('join', '239.1.2.3')]))
add('igmpv1 report', IGMP(type=0x12, mrcode=0, gaddr='239.9.9.9'), rep(1, [rec('join', '239.9.9.9')]))
add('igmpv2 leave', IGMP(type=0x17, gaddr='239.1.2.3'), rep(2, [rec('leave', '239.1.2.3')]))
add('igmpv2 general query', IGMP(type=0x11, mrcode=100, gaddr='0.0.0.0'), {'kind': 'query', 'version': 2, 'group': '0.0.0.0', 'maxRespMs': 10000, 'sources': []})
add('igmpv3 query', IGMPv3(type=0x11, mrcode=0x8a)/IGMPv3mq(gaddr='239.4.4.4', qrv=2, qqic=125, srcaddrs=['198.18.0.7', '198.18.0.8']),
    {'kind': 'query', 'version': 3, 'group': '239.4.4.4', 'maxRespMs': ((0xa | 0x10) << 3) * 100, 'sources': ['198.18.0.7', '198.18.0.8']})
recs = [(t, '239.1.%d.%d' % (t, t), ['198.18.%d.%d' % (t, k) for k in range(t % 3)]) for t in range(1, 7)]
add('igmpv3 report', IGMPv3(type=0x22)/IGMPv3mr(records=[IGMPv3gr(rtype=t, maddr=g, srcaddrs=s) for (t, g, s) in recs]),
    rep(3, [rec(T[t], g, s) for (t, g, s) in recs]))
def mld(pkt):
    # the ICMPv6 message with its checksum for fe80::1 -> ff02::16, behind a router-alert hop-by-hop header
    p = IPv6(src='fe80::1', dst='ff02::16')/IPv6ExtHdrHopByHop(options=[RouterAlert()])/pkt
    return bytes(IPv6(bytes(p))[IPv6ExtHdrHopByHop].payload)
add('mldv1 report', mld(ICMPv6MLReport(mladdr='ff05::1:3')), rep(2, [rec('join', 'ff05::1:3')]))
add('mldv1 done', mld(ICMPv6MLDone(mladdr='ff05::1:3')), rep(2, [rec('leave', 'ff05::1:3')]))
add('mldv1 query', mld(ICMPv6MLQuery(mrd=10000, mladdr='::')), {'kind': 'query', 'version': 2, 'group': '::', 'maxRespMs': 10000, 'sources': []})
add('mldv2 query', mld(ICMPv6MLQuery2(mrd=0x9234, mladdr='ff0e::42', sources=['2001:db8::7'])),
    {'kind': 'query', 'version': 3, 'group': 'ff0e::42', 'maxRespMs': (0x234 | 0x1000) << 4, 'sources': ['2001:db8::7']})
recs6 = [(t, 'ff0e::%x' % t, ['2001:db8::%x:%x' % (t, k) for k in range(t % 3)]) for t in range(1, 7)]
add('mldv2 report', mld(ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=t, dst=g, sources=s) for (t, g, s) in recs6])),
    rep(3, [rec(T[t], g, s) for (t, g, s) in recs6]))
print(json.dumps(out))
`;

/** Our messages, dissected by scapy; the checksums recomputed by scapy's own functions. */
const DISSECT = (items: { name: string; hex: string; v6: boolean }[]) => `
from scapy.contrib.igmp import IGMP
from scapy.contrib.igmpv3 import IGMPv3
from scapy.utils import checksum
import socket
from scapy.layers.inet6 import ICMPv6MLReport2, ICMPv6MLQuery2, ICMPv6MLQuery, ICMPv6MLReport, ICMPv6MLDone
items = json.loads(${JSON.stringify(JSON.stringify(items))})
out = {}
for it in items:
    b = bytes.fromhex(it['hex'])
    zeroed = b[:2] + b'\\0\\0' + b[4:]
    if it['v6']:
        cls = {130: ICMPv6MLQuery2 if len(b) >= 28 else ICMPv6MLQuery, 131: ICMPv6MLReport, 132: ICMPv6MLDone, 143: ICMPv6MLReport2}[b[0]]
        m = cls(b)
        pseudo = inet_pton(socket.AF_INET6, 'fe80::1') + inet_pton(socket.AF_INET6, 'ff02::16') + len(b).to_bytes(4, 'big') + bytes([0, 0, 0, 58])
        recs = [{'rtype': r.rtype, 'dst': r.dst, 'sources': list(r.sources)} for r in getattr(m, 'records', [])]
        f = {'type': m.type, 'mladdr': getattr(m, 'mladdr', None), 'mrd': getattr(m, 'mrd', None), 'records': recs,
             'qqic': getattr(m, 'QQIC', None), 'qrv': getattr(m, 'QRV', None),
             'cksum_ok': checksum(pseudo + zeroed) == int.from_bytes(b[2:4], 'big')}
    else:
        m = IGMPv3(b) if b[0] == 0x22 or (b[0] == 0x11 and len(b) >= 12) else IGMP(b)
        recs = [{'rtype': r.rtype, 'dst': r.maddr, 'sources': list(r.srcaddrs)} for r in getattr(m.payload, 'records', [])]
        f = {'type': m.type, 'mrcode': m.mrcode, 'gaddr': getattr(m, 'gaddr', None) or getattr(m.payload, 'gaddr', None), 'records': recs,
             'qqic': getattr(m.payload, 'qqic', None), 'qrv': getattr(m.payload, 'qrv', None),
             'cksum_ok': checksum(zeroed) == int.from_bytes(b[2:4], 'big')}
    out[it['name']] = f
print(json.dumps(out))
`;

describe.skipIf(!haveScapy)('IGMP and MLD against scapy', () => {
  let built: Built[] = [];
  beforeAll(() => {
    built = runScapy<Built[]>(python!, BUILD);
  });

  it('decodes every message kind scapy builds to what it means', () => {
    expect(built.length).toBe(11);
    for (const b of built) {
      const bytes = Buffer.from(b.hex, 'hex');
      const got = b.name.startsWith('mld') ? decodeMld(SRC6, DST6, bytes) : decodeIgmp(bytes);
      expect(got, b.name).toEqual(b.want);
    }
  });

  it('builds queries and reports scapy reads back, checksums included', () => {
    const records4: GroupRecord[] = [
      { type: 'to_exclude', group: '239.1.2.3', sources: [] },
      { type: 'is_include', group: '239.1.2.4', sources: ['198.18.0.9', '198.18.0.10'] },
    ];
    const records6: GroupRecord[] = [{ type: 'allow', group: 'ff0e::42', sources: ['2001:db8::1'] }];
    const ours = [
      { name: 'q2', hex: encodeIgmpQuery({ version: 2, maxRespMs: 10_000 }).toString('hex'), v6: false },
      { name: 'q3', hex: encodeIgmpQuery({ version: 3, group: '239.4.4.4', maxRespMs: 1000, intervalS: 60 }).toString('hex'), v6: false },
      { name: 'r2', hex: encodeIgmpReport(2, [{ type: 'leave', group: '239.1.2.3', sources: [] }]).toString('hex'), v6: false },
      { name: 'r3', hex: encodeIgmpReport(3, records4).toString('hex'), v6: false },
      { name: 'mq1', hex: encodeMldQuery(SRC6, DST6, { version: 1, maxRespMs: 10_000 }).toString('hex'), v6: true },
      { name: 'mq2', hex: encodeMldQuery(SRC6, DST6, { version: 2, maxRespMs: 1000, intervalS: 60 }).toString('hex'), v6: true },
      { name: 'mr1', hex: encodeMldReport(SRC6, DST6, 1, [{ type: 'join', group: 'ff05::1:3', sources: [] }]).toString('hex'), v6: true },
      { name: 'mr2', hex: encodeMldReport(SRC6, DST6, 2, records6).toString('hex'), v6: true },
    ];
    const seen = runScapy<Record<string, Record<string, unknown>>>(python!, DISSECT(ours));
    for (const o of ours) expect(seen[o.name].cksum_ok, `${o.name} checksum`).toBe(true);
    expect(seen.q2).toMatchObject({ type: 0x11, mrcode: 100, gaddr: '0.0.0.0' });
    expect(seen.q3).toMatchObject({ type: 0x11, mrcode: 10, gaddr: '239.4.4.4', qrv: 2, qqic: 60 });
    expect(seen.r2).toMatchObject({ type: 0x17, gaddr: '239.1.2.3' });
    expect(seen.r3).toMatchObject({ type: 0x22, records: [{ rtype: 4, dst: '239.1.2.3', sources: [] }, { rtype: 1, dst: '239.1.2.4', sources: ['198.18.0.9', '198.18.0.10'] }] });
    expect(seen.mq1).toMatchObject({ type: 130, mrd: 10_000, mladdr: '::' });
    expect(seen.mq2).toMatchObject({ type: 130, mrd: 1000, mladdr: '::', qrv: 2, qqic: 60 });
    expect(seen.mr1).toMatchObject({ type: 131, mladdr: 'ff05::1:3' });
    expect(seen.mr2).toMatchObject({ type: 143, records: [{ rtype: 5, dst: 'ff0e::42', sources: ['2001:db8::1'] }] });
  });
});

describe('multicast helpers', () => {
  it('maps groups to their Ethernet addresses', () => {
    expect(formatMac(groupMac('239.129.2.3'))).toBe('01:00:5e:01:02:03'); // only the low 23 bits
    expect(formatMac(groupMac('ff0e::1:ff00:42'))).toBe('33:33:ff:00:00:42');
  });

  it('tells link-local groups, which go to every host, from the others', () => {
    expect(['224.0.0.1', '224.0.0.251', 'ff02::1', 'ff02::fb'].map(isLinkLocalGroup)).toEqual([true, true, true, true]);
    // Solicited-node groups belong to neighbour discovery, answered on each host.
    expect(['224.0.1.1', '239.1.1.1', 'ff05::2', 'ff02::1:ff00:1', 'ff0e::fb'].map(isLinkLocalGroup)).toEqual([false, false, false, false, false]);
    // Other link-scope groups (transient ff12::, prefix-based ff32::) are reported, so snooped: the data path floods ff02::/16 only.
    expect(['ff12::1234', 'ff32:ff::1'].map(isLinkLocalGroup)).toEqual([false, false]);
    expect(['224.0.0.1', '239.255.255.255', 'ff05::1', '198.18.0.1', '2001:db8::1'].map(isMulticastIp)).toEqual([true, true, true, false, false]);
    expect(canonicalGroup('FF0E:0::42')).toBe('ff0e::42');
    expect(wireErrorCode(() => canonicalGroup('198.18.0.1'))).toBe('BAD_VALUE');
  });

  it('reads which records leave a host listening', () => {
    const r = (type: GroupRecord['type'], sources: string[] = []): boolean | undefined => recordListens({ type, group: '239.1.1.1', sources });
    expect([r('join'), r('is_exclude'), r('to_exclude'), r('allow', ['198.18.0.1']), r('is_include', ['198.18.0.1'])]).toEqual([true, true, true, true, true]);
    expect([r('leave'), r('to_include'), r('is_include')]).toEqual([false, false, false]);
    expect(r('block', ['198.18.0.1'])).toBeUndefined();
  });

  it('decodes the floating-point time codes', () => {
    expect([decodeFloatCode(100, 8), decodeFloatCode(0x80, 8), decodeFloatCode(0xff, 8)]).toEqual([100, 128, 31744]);
    expect([decodeFloatCode(32767, 16), decodeFloatCode(0x8000, 16), decodeFloatCode(0xffff, 16)]).toEqual([32767, 32768, 8387584]);
  });

  it('finds the protocol behind a hop-by-hop header', () => {
    const payload = Buffer.concat([routerAlertHopByHop(58), Buffer.alloc(24)]);
    expect(skipHopByHop(0, payload)).toEqual({ protocol: 58, offset: 8 });
    expect(skipHopByHop(58, payload)).toEqual({ protocol: 58, offset: 0 });
    expect(wireErrorCode(() => skipHopByHop(0, Buffer.from([58, 3, 0, 0, 0, 0, 0, 0])))).toBe('TRUNCATED');
  });
});

describe('IGMP and MLD bad input', () => {
  const report = encodeIgmpReport(3, [{ type: 'to_exclude', group: '239.1.2.3', sources: ['198.18.0.1'] }]);
  const mld = encodeMldReport(SRC6, DST6, 2, [{ type: 'to_exclude', group: 'ff0e::1', sources: [] }]);

  it('refuses truncated messages, bad checksums and records past the end by code', () => {
    expect(wireErrorCode(() => decodeIgmp(report.subarray(0, 7)))).toBe('TRUNCATED');
    const bad = Buffer.from(report);
    bad[9] ^= 1;
    expect(wireErrorCode(() => decodeIgmp(bad))).toBe('BAD_CHECKSUM');
    expect(wireErrorCode(() => decodeMld(SRC6, parseIp('ff02::1'), mld))).toBe('BAD_CHECKSUM'); // checksum covers the addresses
    const long = encodeIgmpReport(3, []);
    long.writeUInt16BE(5, 6); // says five records, has none
    long.writeUInt16BE(0, 2);
    long.writeUInt16BE(internetChecksum(long), 2);
    expect(wireErrorCode(() => decodeIgmp(long))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => decodeMld(SRC6, DST6, encodeIgmpQuery({ version: 2, maxRespMs: 100 })))).toBe('BAD_VALUE');
  });

  it('throws nothing but WireError on random bytes and mutated messages', () => {
    let seed = 20261207;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = i % 3 === 0 ? report : i % 3 === 1 ? mld : Buffer.alloc(rnd(64));
      const b = Buffer.from(i % 4 === 0 ? base.subarray(0, rnd(base.length + 1)) : base);
      const flips = rnd(3);
      for (let k = 0; k < flips && b.length > 0; k++) b[rnd(b.length)] = rnd(256);
      try {
        if (i % 2 === 0) decodeIgmp(b);
        else decodeMld(SRC6, DST6, b);
        decoded++;
      } catch (err) {
        if (!isWireError(err)) throw err;
      }
    }
    expect(decoded).toBeGreaterThan(0); // the mutations sometimes keep a message whole
  });
});

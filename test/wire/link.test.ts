import { describe, expect, it } from 'vitest';
import { decodeArp, decodeEthernet, encodeArp, encodeEthernet, ETHERTYPE, parseIp, parseMac } from '../../src/wire/index.js';
import { wireErrorCode } from './support.js';

const dst = parseMac('02:42:c6:13:01:03');
const src = parseMac('02:42:c6:13:01:02');

describe('Ethernet', () => {
  it('round-trips untagged, single- and double-tagged frames', () => {
    const payload = Buffer.from('abcdef', 'hex');
    for (const vlans of [[], [{ tpid: 0x8100, tci: 0x200a }], [{ tpid: 0x88a8, tci: 100 }, { tpid: 0x8100, tci: 0xffff }]]) {
      const frame = encodeEthernet({ dst, src, vlans, etherType: ETHERTYPE.IPV6 }, payload);
      const h = decodeEthernet(frame);
      expect(h.dst.equals(dst) && h.src.equals(src)).toBe(true);
      expect(h.vlans).toEqual(vlans);
      expect(h.etherType).toBe(ETHERTYPE.IPV6);
      expect(h.headerLength).toBe(14 + 4 * vlans.length);
      expect(frame.subarray(h.headerLength).equals(payload)).toBe(true);
    }
  });

  it('decodes at an offset, and its MACs alias the input', () => {
    const frame = Buffer.concat([Buffer.alloc(3), encodeEthernet({ dst, src, etherType: 0x0806 }, Buffer.alloc(0))]);
    const h = decodeEthernet(frame, 3);
    expect(h.etherType).toBe(0x0806);
    frame[3] = 0xaa;
    expect(h.dst[0]).toBe(0xaa);
  });

  it('stops after two tags and returns a third TPID as the EtherType', () => {
    const frame = Buffer.from('0242c61301030242c6130102' + '88a80064' + '8100000a' + '81000001' + '0800', 'hex');
    const h = decodeEthernet(frame);
    expect(h.vlans).toHaveLength(2);
    expect([h.etherType, h.headerLength]).toEqual([0x8100, 22]);
  });

  it('reports truncated headers and tags as TRUNCATED', () => {
    const tagged = encodeEthernet({ dst, src, vlans: [{ tpid: 0x8100, tci: 5 }], etherType: 0x0800 }, Buffer.alloc(0));
    expect(wireErrorCode(() => decodeEthernet(tagged.subarray(0, 13)))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeEthernet(tagged.subarray(0, 17)))).toBe('TRUNCATED');
    expect(decodeEthernet(tagged.subarray(0, 18)).etherType).toBe(0x0800);
    expect(wireErrorCode(() => decodeEthernet(tagged, 19))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeEthernet(tagged, -1))).toBe('BAD_VALUE');
  });

  it('refuses bad encoder arguments', () => {
    expect(wireErrorCode(() => encodeEthernet({ dst: Buffer.alloc(5), src, etherType: 0x800 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeEthernet({ dst, src, etherType: 0x10000 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeEthernet({ dst, src, vlans: [{ tpid: 0x0800, tci: 1 }], etherType: 0x800 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    const three = [1, 2, 3].map((tci) => ({ tpid: 0x8100, tci }));
    expect(wireErrorCode(() => encodeEthernet({ dst, src, vlans: three, etherType: 0x800 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
  });
});

describe('ARP', () => {
  const request = { op: 1, sha: src, spa: parseIp('198.19.1.2'), tha: Buffer.alloc(6), tpa: parseIp('198.19.1.3') };

  it('round-trips a request, ignoring trailing padding', () => {
    const bytes = encodeArp(request);
    expect(bytes).toHaveLength(28);
    const p = decodeArp(Buffer.concat([bytes, Buffer.alloc(18)]));
    expect(p).toMatchObject({ htype: 1, ptype: 0x0800, hlen: 6, plen: 4, op: 1 });
    expect([p.sha, p.spa, p.tha, p.tpa].map((b) => b.toString('hex'))).toEqual([src, request.spa, request.tha, request.tpa].map((b) => b.toString('hex')));
  });

  it('TRUNCATED below 28 bytes; BAD_VALUE for non Ethernet/IPv4 ARP', () => {
    const bytes = encodeArp(request);
    expect(wireErrorCode(() => decodeArp(bytes.subarray(0, 27)))).toBe('TRUNCATED');
    for (const [at, value] of [[1, 6], [2, 0x86], [4, 8], [5, 16]] as const) {
      const bad = Buffer.from(bytes);
      bad[at] = value;
      expect(wireErrorCode(() => decodeArp(bad)), `byte ${at}`).toBe('BAD_VALUE');
    }
  });

  it('refuses wrong address lengths when encoding', () => {
    expect(wireErrorCode(() => encodeArp({ ...request, spa: Buffer.alloc(16) }))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeArp({ ...request, op: -1 }))).toBe('BAD_VALUE');
  });
});

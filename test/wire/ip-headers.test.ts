import { describe, expect, it } from 'vitest';
import {
  decodeIPv4,
  decodeIPv6,
  encodeIPv4,
  encodeIPv6,
  internetChecksum,
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  ipv4HeaderChecksumValid,
  parseIp,
} from '../../src/wire/index.js';
import { wireErrorCode } from './support.js';

const src4 = parseIp('198.19.1.2');
const dst4 = parseIp('198.19.1.3');
const src6 = parseIp('2001:db8::1');
const dst6 = parseIp('2001:db8::2');

describe('IPv4', () => {
  it('round-trips every field, with options and defaults', () => {
    const payload = Buffer.from('0123456789', 'hex');
    const options = Buffer.from('94040000', 'hex');
    const packet = encodeIPv4(
      { tos: 0xb8, id: 0xbeef, flags: IPV4_FLAG_MF, fragmentOffset: 0x1234, ttl: 3, protocol: 17, src: src4, dst: dst4, options },
      payload,
    );
    const h = decodeIPv4(packet);
    expect(h).toMatchObject({ version: 4, ihl: 6, headerLength: 24, tos: 0xb8, totalLength: 29, id: 0xbeef, flags: IPV4_FLAG_MF });
    expect(h).toMatchObject({ fragmentOffset: 0x1234, ttl: 3, protocol: 17 });
    expect([h.src.equals(src4), h.dst.equals(dst4), h.options.equals(options)]).toEqual([true, true, true]);
    expect(ipv4HeaderChecksumValid(packet)).toBe(true);
    expect(h.checksum).toBe(packet.readUInt16BE(10));
    expect(internetChecksum(packet, 0, 24)).toBe(0);
    const plain = decodeIPv4(encodeIPv4({ protocol: 6, src: src4, dst: dst4 }, Buffer.alloc(0)));
    expect(plain).toMatchObject({ ihl: 5, tos: 0, id: 0, flags: 0, fragmentOffset: 0, ttl: 64, totalLength: 20 });
    expect(plain.options).toHaveLength(0);
  });

  it('detects a corrupted header checksum', () => {
    const packet = encodeIPv4({ flags: IPV4_FLAG_DF, protocol: 1, src: src4, dst: dst4 }, Buffer.alloc(8));
    packet[8] ^= 1;
    expect(ipv4HeaderChecksumValid(packet)).toBe(false);
    expect(ipv4HeaderChecksumValid(packet.subarray(0, 19))).toBe(false);
    expect(ipv4HeaderChecksumValid(packet, 30)).toBe(false);
  });

  it('decodes padded frames: totalLength rules, trailing bytes ignored', () => {
    const packet = Buffer.concat([encodeIPv4({ protocol: 1, src: src4, dst: dst4 }, Buffer.alloc(4)), Buffer.alloc(10)]);
    expect(decodeIPv4(packet).totalLength).toBe(24);
  });

  it('reports each malformation with its code', () => {
    const good = encodeIPv4({ protocol: 1, src: src4, dst: dst4, options: Buffer.alloc(8) }, Buffer.alloc(4));
    const edit = (f: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(good);
      f(b);
      return b;
    };
    expect(wireErrorCode(() => decodeIPv4(good.subarray(0, 19)))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeIPv4(good.subarray(0, 27)))).toBe('TRUNCATED'); // options cut
    expect(wireErrorCode(() => decodeIPv4(good.subarray(0, 31)))).toBe('TRUNCATED'); // totalLength past the end
    expect(wireErrorCode(() => decodeIPv4(edit((b) => (b[0] = 0x67))))).toBe('BAD_VERSION');
    expect(wireErrorCode(() => decodeIPv4(edit((b) => (b[0] = 0x44))))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => decodeIPv4(edit((b) => b.writeUInt16BE(27, 2))))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => decodeIPv4(edit((b) => (b[0] = 0x4f))))).toBe('TRUNCATED');
  });

  it('refuses bad encoder arguments', () => {
    const base = { protocol: 1, src: src4, dst: dst4 };
    expect(wireErrorCode(() => encodeIPv4({ ...base, options: Buffer.alloc(3) }, Buffer.alloc(0)))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => encodeIPv4({ ...base, options: Buffer.alloc(44) }, Buffer.alloc(0)))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => encodeIPv4(base, Buffer.alloc(65516)))).toBe('BAD_LENGTH');
    expect(encodeIPv4(base, Buffer.alloc(65515))).toHaveLength(65535);
    expect(wireErrorCode(() => encodeIPv4({ ...base, src: src6 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeIPv4({ ...base, flags: 8 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeIPv4({ ...base, fragmentOffset: 0x2000 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeIPv4({ ...base, ttl: 1.5 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
  });
});

describe('IPv6', () => {
  it('round-trips every field', () => {
    const payload = Buffer.from('feedface', 'hex');
    const packet = encodeIPv6({ trafficClass: 0xab, flowLabel: 0xfedcb, nextHeader: 17, hopLimit: 255, src: src6, dst: dst6 }, payload);
    const h = decodeIPv6(packet);
    expect(h).toMatchObject({ version: 6, trafficClass: 0xab, flowLabel: 0xfedcb, payloadLength: 4, nextHeader: 17, hopLimit: 255 });
    expect([h.src.equals(src6), h.dst.equals(dst6), packet.subarray(40).equals(payload)]).toEqual([true, true, true]);
    expect(decodeIPv6(encodeIPv6({ nextHeader: 59, src: src6, dst: dst6 }, Buffer.alloc(0)))).toMatchObject({ trafficClass: 0, flowLabel: 0, hopLimit: 64 });
  });

  it('reports malformations', () => {
    const packet = encodeIPv6({ nextHeader: 17, src: src6, dst: dst6 }, Buffer.alloc(8));
    expect(wireErrorCode(() => decodeIPv6(packet.subarray(0, 39)))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeIPv6(packet.subarray(0, 47)))).toBe('TRUNCATED');
    const v4 = Buffer.from(packet);
    v4[0] = 0x45;
    expect(wireErrorCode(() => decodeIPv6(v4))).toBe('BAD_VERSION');
    expect(wireErrorCode(() => encodeIPv6({ nextHeader: 17, src: src4, dst: dst6 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeIPv6({ nextHeader: 17, flowLabel: 0x100000, src: src6, dst: dst6 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeIPv6({ nextHeader: 17, src: src6, dst: dst6 }, Buffer.alloc(65536)))).toBe('BAD_LENGTH');
  });
});

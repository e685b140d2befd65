import { describe, expect, it } from 'vitest';
import {
  decodeTcp,
  decodeUdp,
  decodeVxlan,
  encodeUdp,
  encodeVxlan,
  parseIp,
  TCP_FLAG,
  udpChecksumValid,
  VXLAN_DEFAULT_PORT,
  VXLAN_FLAG_I,
  VXLAN_HEADER_LENGTH,
  writeVxlanHeader,
} from '../../src/wire/index.js';
import { wireErrorCode } from './support.js';

const a4 = parseIp('198.18.0.1');
const b4 = parseIp('198.18.0.2');
const a6 = parseIp('2001:db8::1');
const b6 = parseIp('2001:db8::2');

describe('UDP', () => {
  it('round-trips over IPv4 and IPv6 with valid checksums', () => {
    for (const [s, d] of [[a4, b4], [a6, b6]]) {
      const u = encodeUdp(s, d, { srcPort: 49152, dstPort: VXLAN_DEFAULT_PORT }, Buffer.from('payload!!'));
      expect(decodeUdp(u)).toEqual({ srcPort: 49152, dstPort: 4789, length: 17, checksum: u.readUInt16BE(6) });
      expect(udpChecksumValid(s, d, u)).toBe(true);
      u[10] ^= 0x40;
      expect(udpChecksumValid(s, d, u)).toBe(false);
    }
  });

  it('checksum 0 means "none" over IPv4 only', () => {
    const u = encodeUdp(a4, b4, { srcPort: 1, dstPort: 2 }, Buffer.alloc(4));
    u.writeUInt16BE(0, 6);
    expect(udpChecksumValid(a4, b4, u)).toBe(true);
    expect(udpChecksumValid(a6, b6, u)).toBe(false);
  });

  it('errors', () => {
    const u = encodeUdp(a4, b4, { srcPort: 1, dstPort: 2 }, Buffer.alloc(4));
    expect(wireErrorCode(() => decodeUdp(u.subarray(0, 7)))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeUdp(u.subarray(0, 11)))).toBe('TRUNCATED');
    const short = Buffer.from(u);
    short.writeUInt16BE(7, 4);
    expect(wireErrorCode(() => decodeUdp(short))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => encodeUdp(a4, b6, { srcPort: 1, dstPort: 2 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeUdp(a4, b4, { srcPort: 65536, dstPort: 2 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeUdp(a4, b4, { srcPort: 1, dstPort: 2 }, Buffer.alloc(65528)))).toBe('BAD_LENGTH');
    expect(udpChecksumValid(a4, b4, short)).toBe(false);
  });
});

describe('TCP', () => {
  const header = Buffer.from('80e80050' + 'fedcba98' + '01020304' + '7112' + 'faf0' + 'abcd' + '0007' + '020405b4' + '01030307', 'hex');

  it('decodes every field, including the NS bit and options', () => {
    const t = decodeTcp(Buffer.concat([header, Buffer.from('data')]));
    expect(t).toMatchObject({ srcPort: 33000, dstPort: 80, seq: 0xfedcba98, ack: 0x01020304, dataOffset: 7, headerLength: 28 });
    expect(t).toMatchObject({ flags: 0x112, window: 0xfaf0, checksum: 0xabcd, urgent: 7 });
    expect(t.flags & 0xff).toBe(TCP_FLAG.ACK | TCP_FLAG.SYN);
    expect(t.options.toString('hex')).toBe('020405b401030307');
  });

  it('errors', () => {
    expect(wireErrorCode(() => decodeTcp(header.subarray(0, 19)))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeTcp(header.subarray(0, 27)))).toBe('TRUNCATED');
    const bad = Buffer.from(header);
    bad[12] = 0x40;
    expect(wireErrorCode(() => decodeTcp(bad))).toBe('BAD_LENGTH');
  });
});

describe('VXLAN', () => {
  it('writes 08 00 00 00 | vni | 00 and reads it back', () => {
    const frame = Buffer.from('inner frame');
    const v = encodeVxlan(0x123456, frame);
    expect(v.subarray(0, VXLAN_HEADER_LENGTH).toString('hex')).toBe('0800000012345600');
    expect(v.subarray(8).equals(frame)).toBe(true);
    expect(decodeVxlan(v)).toEqual({ flags: VXLAN_FLAG_I, vni: 0x123456 });
    expect(decodeVxlan(encodeVxlan(0xffffff, Buffer.alloc(0))).vni).toBe(0xffffff);
  });

  it('writes in place into headroom', () => {
    const buf = Buffer.alloc(20, 0xee);
    writeVxlanHeader(buf, 4, 4096);
    expect(buf.toString('hex')).toBe('eeeeeeee' + '0800000000100000' + 'ee'.repeat(8));
    expect(wireErrorCode(() => writeVxlanHeader(buf, 13, 1))).toBe('TRUNCATED');
    expect(wireErrorCode(() => writeVxlanHeader(buf, 0, 0x1000000))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => writeVxlanHeader(buf, 0, -1))).toBe('BAD_VALUE');
  });

  it('ignores reserved bits; requires the I flag and 8 bytes', () => {
    expect(decodeVxlan(Buffer.from('ff' + 'ffffff' + '000001' + 'ff', 'hex'))).toEqual({ flags: 0xff, vni: 1 });
    expect(wireErrorCode(() => decodeVxlan(Buffer.from('0000000000000100', 'hex')))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => decodeVxlan(Buffer.from('08000000000001', 'hex')))).toBe('TRUNCATED');
  });
});

import { describe, expect, it } from 'vitest';
import { BROADCAST_MAC, formatIp, formatMac, ipFamily, isMulticastMac, parseIp, parseMac, WireError } from '../../src/wire/index.js';
import { wireErrorCode } from './support.js';

describe('MAC addresses', () => {
  it('parses colon and dash forms, any case, and formats lower-case colon form', () => {
    expect(parseMac('02:42:C6:13:01:02').toString('hex')).toBe('0242c6130102');
    expect(parseMac('02-42-c6-13-01-02').toString('hex')).toBe('0242c6130102');
    expect(formatMac(Buffer.from('0242c6130102', 'hex'))).toBe('02:42:c6:13:01:02');
    expect(formatMac(Buffer.from('ff0242c6130102aa', 'hex'), 1)).toBe('02:42:c6:13:01:02');
  });

  it('refuses malformed text with BAD_VALUE', () => {
    for (const bad of ['', '02:42:c6:13:01', '02:42:c6:13:01:02:03', '02:42-c6:13:01:02', '2:42:c6:13:01:02', '02:42:c6:13:01:0g', ' 02:42:c6:13:01:02']) {
      expect(wireErrorCode(() => parseMac(bad)), bad).toBe('BAD_VALUE');
    }
  });

  it('formatMac refuses fewer than 6 bytes with TRUNCATED', () => {
    expect(wireErrorCode(() => formatMac(Buffer.alloc(5)))).toBe('TRUNCATED');
    expect(wireErrorCode(() => formatMac(Buffer.alloc(6), 1))).toBe('TRUNCATED');
  });

  it('tests the group bit', () => {
    expect(isMulticastMac(BROADCAST_MAC)).toBe(true);
    expect(isMulticastMac(parseMac('33:33:ff:00:00:01'))).toBe(true);
    expect(isMulticastMac(parseMac('01:00:5e:00:00:01'))).toBe(true);
    expect(isMulticastMac(parseMac('02:42:c6:13:01:02'))).toBe(false);
    expect(isMulticastMac(Buffer.from([0, 0, 0, 0, 0, 0, 1]), 6)).toBe(true);
    expect(formatMac(BROADCAST_MAC)).toBe('ff:ff:ff:ff:ff:ff');
  });
});

describe('IP addresses', () => {
  it('parses dotted quads', () => {
    expect(parseIp('198.18.0.1').toString('hex')).toBe('c6120001');
    expect(parseIp('0.0.0.0').toString('hex')).toBe('00000000');
    expect(parseIp('255.255.255.255').toString('hex')).toBe('ffffffff');
  });

  it('parses every IPv6 text form', () => {
    const cases: [string, string][] = [
      ['::', '00000000000000000000000000000000'],
      ['::1', '00000000000000000000000000000001'],
      ['1::', '00010000000000000000000000000000'],
      ['2001:db8::1', '20010db8000000000000000000000001'],
      ['2001:DB8:0:0:0:0:0:1', '20010db8000000000000000000000001'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
      ['::ffff:198.18.0.1', '00000000000000000000ffffc6120001'],
      ['64:ff9b::198.18.0.1', '0064ff9b0000000000000000c6120001'],
      ['1:2:3:4:5:6:198.18.0.1', '000100020003000400050006c6120001'],
      ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
      ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ];
    for (const [text, bytes] of cases) expect(parseIp(text).toString('hex'), text).toBe(bytes);
  });

  it('refuses malformed text with BAD_VALUE', () => {
    const bad = [
      '', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', '1.2.3.4 ', 'a.b.c.d',
      ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::',
      '::1.2.3', '1.2.3.4::', '::1.2.3.4:5', 'fe80::1%eth0', '2001:db8::/64', '1:2:3:4:5:6:7:8::', ':1::', '1::2:',
    ];
    for (const s of bad) expect(wireErrorCode(() => parseIp(s)), s).toBe('BAD_VALUE');
  });

  it('formats RFC 5952 text', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of equal runs
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['1:0:0:0:0:0:0:0', '1::'],
      ['ABCD::EF', 'abcd::ef'],
      ['::ffff:c612:1', '::ffff:198.18.0.1'],
    ];
    for (const [input, want] of cases) expect(formatIp(parseIp(input)), input).toBe(want);
    expect(formatIp(parseIp('198.18.0.1'))).toBe('198.18.0.1');
    expect(wireErrorCode(() => formatIp(Buffer.alloc(5)))).toBe('BAD_LENGTH');
  });

  it('ipFamily', () => {
    expect([ipFamily('198.18.0.1'), ipFamily('2001:db8::1'), ipFamily('::ffff:1.2.3.4'), ipFamily('nope'), ipFamily('')]).toEqual([4, 6, 6, 0, 0]);
  });

  it('round-trips random addresses through text', () => {
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(Array.from({ length: i % 3 === 0 ? 4 : 16 }, () => (rnd() < 100 ? 0 : rnd())));
      expect(parseIp(formatIp(b)).equals(b)).toBe(true);
    }
  });

  it('throws WireError instances', () => {
    expect(() => parseIp('x')).toThrow(WireError);
  });
});

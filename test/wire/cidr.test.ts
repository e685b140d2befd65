/** The one CIDR module (src/wire/cidr.ts): gossip's cidrsAllowed and the overlay's subnets. */
import { describe, expect, it } from 'vitest';
import {
  allocateAddress,
  cidrContains,
  cidrOverlaps,
  CidrError,
  isHostAddress,
  parseCidr,
  parsePrefix,
  prefixContains,
} from '../../src/wire/index.js';

describe('CIDR', () => {
  it('parses overlay subnets canonically and says why one is refused', () => {
    expect(parseCidr('198.19.1.77/24').text).toBe('198.19.1.0/24');
    expect(parseCidr(' 2001:db8:1::5/64 ').text).toBe('2001:db8:1::/64');
    expect(() => parseCidr('198.19.1.0')).toThrow('expected ADDRESS/PREFIX');
    expect(() => parseCidr('198.19.1.0/0')).toThrow('prefix must be 1..32');
    expect(() => parseCidr('2001:db8::/129')).toThrow('prefix must be 1..128');
    expect(() => parseCidr('198.19.1.0/31')).toThrow('too small for endpoints');
    expect(() => parseCidr('nonsense/8')).toThrow(CidrError);
  });

  it('parses general prefixes, bare addresses as the whole width, and refuses the rest', () => {
    expect(parsePrefix('0.0.0.0/0')?.text).toBe('0.0.0.0/0');
    expect(parsePrefix('198.18.0.1')?.text).toBe('198.18.0.1/32');
    expect(parsePrefix('198.18.0.0/')).toBeUndefined();
    expect(parsePrefix('198.18.0.0/33')).toBeUndefined();
    expect(parsePrefix('not-an-ip/8')).toBeUndefined();
  });

  it('contains text and raw addresses of its own family only', () => {
    const c = parseCidr('198.18.0.0/15');
    expect(cidrContains(c, '198.19.255.1')).toBe(true);
    expect(cidrContains(c, Buffer.from([198, 19, 255, 1]))).toBe(true);
    expect(cidrContains(c, Buffer.from([198, 20, 0, 1]))).toBe(false);
    expect(cidrContains(c, '2001:db8::1')).toBe(false);
    expect(prefixContains('0.0.0.0/0', Buffer.from([203, 0, 113, 1]))).toBe(true);
    expect(prefixContains('garbage', Buffer.from([198, 18, 0, 1]))).toBe(false);
  });

  it('knows overlap, host addresses and the next free address', () => {
    const a = parseCidr('198.19.0.0/16');
    expect(cidrOverlaps(a, parseCidr('198.19.7.0/24'))).toBe(true);
    expect(cidrOverlaps(a, parseCidr('198.18.0.0/16'))).toBe(false);
    const s = parseCidr('198.19.1.0/30');
    expect(isHostAddress(s, '198.19.1.0')).toBe(false);
    expect(isHostAddress(s, '198.19.1.3')).toBe(false);
    expect(allocateAddress(s, new Set(['198.19.1.1']))).toBe('198.19.1.2');
    expect(allocateAddress(s, new Set(['198.19.1.1', '198.19.1.2']))).toBeUndefined();
    expect(allocateAddress(parseCidr('2001:db8::/126'), new Set(['2001:db8::1', '2001:db8::2']))).toBe('2001:db8::3');
  });
});

import { describe, expect, it } from 'vitest';
import { ipToBytes, ipToString } from '../../src/gossip/node.js';
import { ensurePort, joinHostPort, splitHostPort } from '../../src/gossip/transport.js';
import { prefixContains } from '../../src/wire/index.js';

describe('address helpers', () => {
  it('convert IPv4 and IPv6 to raw bytes and back, as Go prints them', () => {
    expect(ipToBytes('198.18.0.7')).toEqual(Buffer.from([198, 18, 0, 7]));
    expect(ipToBytes('256.1.1.1')).toBeUndefined();
    expect(ipToBytes('2001:db8::1')!.toString('hex')).toBe('20010db8000000000000000000000001');
    expect(ipToBytes('::')!.toString('hex')).toBe('0'.repeat(32));
    expect(ipToBytes('::ffff:198.18.0.1')!.toString('hex')).toBe('00000000000000000000ffffc6120001');
    expect(ipToBytes('1::2::3')).toBeUndefined();
    expect(ipToBytes('hello')).toBeUndefined();
    expect(ipToString(Buffer.from('20010db8000000000000000000000001', 'hex'))).toBe('2001:db8::1');
    expect(ipToString(Buffer.from('20010db8000100000000000100000001', 'hex'))).toBe('2001:db8:1::1:0:1');
    expect(ipToString(Buffer.from('00000000000000000000ffffc6120001', 'hex'))).toBe('198.18.0.1');
    expect(ipToString(Buffer.from([1, 2, 3]))).toBe('');
  });

  it('join, split and default host:port pairs', () => {
    expect(joinHostPort('2001:db8::1', 7946)).toBe('[2001:db8::1]:7946');
    expect(joinHostPort('198.18.0.1', 7946)).toBe('198.18.0.1:7946');
    expect(splitHostPort('[2001:db8::1]:80')).toEqual({ host: '2001:db8::1', port: 80 });
    expect(splitHostPort('198.18.0.1:65535')).toEqual({ host: '198.18.0.1', port: 65535 });
    expect(splitHostPort('198.18.0.1:65536')).toBeUndefined();
    expect(splitHostPort('2001:db8::1')).toBeUndefined();
    expect(ensurePort('198.18.0.1', 7946)).toBe('198.18.0.1:7946');
    expect(ensurePort('2001:db8::1', 7946)).toBe('[2001:db8::1]:7946');
    expect(ensurePort('[2001:db8::1]', 7946)).toBe('[2001:db8::1]:7946');
    expect(ensurePort('node.example:1', 7946)).toBe('node.example:1');
  });

  it('match CIDRs for cidrsAllowed', () => {
    expect(prefixContains('198.18.0.0/15', Buffer.from([198, 19, 255, 1]))).toBe(true);
    expect(prefixContains('198.18.0.0/15', Buffer.from([198, 20, 0, 1]))).toBe(false);
    expect(prefixContains('2001:db8::/32', ipToBytes('2001:db8:ffff::1')!)).toBe(true);
    expect(prefixContains('2001:db8::/32', Buffer.from([198, 18, 0, 1]))).toBe(false);
    expect(prefixContains('198.18.0.1', Buffer.from([198, 18, 0, 1]))).toBe(true);
    expect(prefixContains('198.18.0.0/33', Buffer.from([198, 18, 0, 1]))).toBe(false);
  });
});

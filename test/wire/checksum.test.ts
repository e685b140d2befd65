import { describe, expect, it } from 'vitest';
import { foldChecksum, internetChecksum, onesComplementSum, parseIp, pseudoHeaderSum } from '../../src/wire/index.js';
import { wireErrorCode } from './support.js';

describe('Internet checksum', () => {
  it('matches the RFC 1071 §3 worked example', () => {
    const data = Buffer.from('0001f203f4f5f6f7', 'hex');
    expect(onesComplementSum(data, 0, data.length)).toBe(0x0001 + 0xf203 + 0xf4f5 + 0xf6f7);
    expect(foldChecksum(onesComplementSum(data, 0, data.length))).toBe(~0xddf2 & 0xffff);
    expect(internetChecksum(data)).toBe(0x220d);
  });

  it('pads an odd trailing byte as the high byte of a word', () => {
    expect(onesComplementSum(Buffer.from([0x12, 0x34, 0x56]), 0, 3)).toBe(0x1234 + 0x5600);
    expect(onesComplementSum(Buffer.from([0xaa, 0x12, 0x34, 0x56]), 1, 4)).toBe(0x1234 + 0x5600);
  });

  it('folds repeatedly, including sums beyond 32 bits', () => {
    expect(foldChecksum(0)).toBe(0xffff);
    expect(foldChecksum(0xffff)).toBe(0);
    expect(foldChecksum(0x1fffe)).toBe(0); // 0xfffe + 1
    const big = Buffer.alloc(200_000, 0xff);
    const sum = onesComplementSum(big, 0, big.length);
    expect(sum).toBeGreaterThan(0xffffffff);
    expect(foldChecksum(sum)).toBe(0);
  });

  it('a message with its checksum inserted sums to zero; initial carries a partial sum', () => {
    const msg = Buffer.from('45000054abcd40004001000cc6120001c6120002', 'hex');
    msg.writeUInt16BE(0, 10);
    msg.writeUInt16BE(internetChecksum(msg), 10);
    expect(internetChecksum(msg)).toBe(0);
    const split = onesComplementSum(msg, 8, 20, onesComplementSum(msg, 0, 8));
    expect(foldChecksum(split)).toBe(0);
  });

  it('pseudo-headers for IPv4 and IPv6', () => {
    const v4 = pseudoHeaderSum(parseIp('198.18.0.1'), parseIp('198.18.0.2'), 17, 30);
    expect(v4).toBe(0xc612 + 0x0001 + 0xc612 + 0x0002 + 17 + 30);
    const v6 = pseudoHeaderSum(parseIp('2001:db8::1'), parseIp('2001:db8::2'), 58, 0x12345);
    expect(v6).toBe(2 * (0x2001 + 0x0db8) + 1 + 2 + 58 + 0x1 + 0x2345);
  });

  it('refuses bad ranges and address mixes', () => {
    expect(wireErrorCode(() => onesComplementSum(Buffer.alloc(4), 0, 5))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => onesComplementSum(Buffer.alloc(4), 3, 2))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => onesComplementSum(Buffer.alloc(4), -1, 2))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => pseudoHeaderSum(Buffer.alloc(4), Buffer.alloc(16), 17, 8))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => pseudoHeaderSum(Buffer.alloc(6), Buffer.alloc(6), 17, 8))).toBe('BAD_VALUE');
  });
});

/** src/wire/esp.ts: the ESP framing without cryptography — header, trailer, padding, ESP-in-UDP classification. */
import { describe, expect, it } from 'vitest';
import {
  classifyEspInUdp,
  decodeEsp,
  decodeEspHeader,
  decodeEspTrailer,
  espMinimumLength,
  espPadLength,
  espPayloadLength,
  isWireError,
  writeEspHeader,
  writeEspTrailer,
} from '../../src/wire/index.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (isWireError(e)) return e.code;
    throw e;
  }
  return 'none';
};

describe('ESP codec', () => {
  it('writes and reads the header in place', () => {
    const b = Buffer.alloc(12, 0xee);
    writeEspHeader(b, 2, 0xdeadbeef, 0xfffffffe);
    expect(b.toString('hex')).toBe('eeeedeadbeeffffffffeeeee');
    expect(decodeEspHeader(b, 2)).toEqual({ spi: 0xdeadbeef, seq: 0xfffffffe });
    expect(code(() => writeEspHeader(b, 0, 0, 1))).toBe('BAD_VALUE');
    expect(code(() => writeEspHeader(b, 6, 1, 1))).toBe('TRUNCATED');
    expect(code(() => writeEspHeader(b, 0, 1, 2 ** 32))).toBe('BAD_VALUE');
  });

  it('cuts a packet into zero-copy parts for a given layout', () => {
    const p = Buffer.from('0000010000000007' + '1111111111111111' + 'aabbccdd' + '22'.repeat(16), 'hex');
    const d = decodeEsp(p);
    expect(d.spi).toBe(256);
    expect(d.seq).toBe(7);
    expect(d.iv.toString('hex')).toBe('1111111111111111');
    expect(d.ciphertext.toString('hex')).toBe('aabbccdd');
    expect(d.icv.toString('hex')).toBe('22'.repeat(16));
    expect(d.ciphertext.buffer).toBe(p.buffer);
    const short = decodeEsp(p, 0, undefined, { icvLength: 8 });
    expect(short.ciphertext.length).toBe(12);
    expect(espMinimumLength()).toBe(34);
    expect(code(() => decodeEsp(p.subarray(0, 33)))).toBe('TRUNCATED');
    expect(code(() => decodeEsp(p, 0, p.length + 1))).toBe('TRUNCATED');
    expect(code(() => decodeEsp(Buffer.concat([Buffer.alloc(4), p.subarray(4)])))).toBe('BAD_VALUE');
    expect(code(() => decodeEspHeader(p, 30))).toBe('TRUNCATED');
  });

  it('pads payload + trailer to 4 bytes with 1, 2, 3 …', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => espPadLength(n))).toEqual([2, 1, 0, 3, 2, 1]);
    const b = Buffer.alloc(8, 0xaa);
    expect(writeEspTrailer(b, 1, 3, 17)).toBe(5);
    expect(b.toString('hex')).toBe('aa0102030311aaaa');
    expect(decodeEspTrailer(b, 0, 6)).toEqual({ payloadLength: 1, padLength: 3, nextHeader: 17 });
    expect(espPayloadLength(b, 0, 6)).toBe(1);
  });

  it('refuses malformed trailers: too short, pad length past the start, wrong padding bytes', () => {
    expect(code(() => decodeEspTrailer(Buffer.from([3])))).toBe('TRUNCATED');
    expect(code(() => decodeEspTrailer(Buffer.from([1, 2, 3, 17])))).toBe('BAD_LENGTH');
    expect(code(() => decodeEspTrailer(Buffer.from([1, 3, 2, 17])))).toBe('BAD_VALUE');
    expect(espPayloadLength(Buffer.from([1, 3, 2, 17]), 0, 4)).toBe(-1);
    expect(espPayloadLength(Buffer.from([1, 2, 3, 17]), 0, 4)).toBe(-1);
    expect(espPayloadLength(Buffer.from([17]), 0, 1)).toBe(-1);
    expect(espPayloadLength(Buffer.from([0, 17]), 0, 5)).toBe(-1);
    expect(code(() => writeEspTrailer(Buffer.alloc(300), 0, 256, 17))).toBe('BAD_VALUE');
  });

  it('tells ESP from IKE and NAT keep-alives on the ESP-in-UDP port (RFC 3948)', () => {
    expect(classifyEspInUdp(Buffer.from([0xff]))).toBe('keepalive');
    expect(classifyEspInUdp(Buffer.from('00000000aabbccdd', 'hex'))).toBe('ike');
    expect(classifyEspInUdp(Buffer.from('00000100aabbccdd', 'hex'))).toBe('esp');
    expect(classifyEspInUdp(Buffer.from('000001', 'hex'))).toBe('malformed');
    expect(classifyEspInUdp(Buffer.alloc(8), 4, 8)).toBe('malformed');
  });
});

import { describe, expect, it } from 'vitest';
import {
  decodeIcmp,
  decodeIcmpv6,
  decodeNeighborMessage,
  encodeIcmp,
  encodeIcmpv6,
  encodeNeighborAdvertisement,
  encodeNeighborSolicitation,
  formatIp,
  formatMac,
  icmpv6ChecksumValid,
  internetChecksum,
  ND_FLAG_OVERRIDE,
  ND_FLAG_ROUTER,
  ND_FLAG_SOLICITED,
  parseIp,
  parseMac,
  solicitedNodeMulticast,
} from '../../src/wire/index.js';
import { wireErrorCode } from './support.js';

const a6 = parseIp('2001:db8::1');
const b6 = parseIp('2001:db8::2');
const mac = parseMac('02:42:c6:13:01:02');

describe('ICMPv4', () => {
  it('round-trips with a valid checksum; length bounds the body', () => {
    const m = encodeIcmp({ type: 0, code: 0, rest: 0xfffe0001 }, Buffer.from('abc'));
    expect(internetChecksum(m)).toBe(0);
    const d = decodeIcmp(Buffer.concat([m, Buffer.alloc(5)]), 0, m.length);
    expect([d.type, d.code, d.rest, d.body.toString(), d.checksum]).toEqual([0, 0, 0xfffe0001, 'abc', m.readUInt16BE(2)]);
    expect(decodeIcmp(Buffer.concat([Buffer.alloc(2), m]), 2).body.toString()).toBe('abc');
  });

  it('errors: short message, length past the input, bad fields', () => {
    const m = encodeIcmp({ type: 8, code: 0 }, Buffer.alloc(0));
    expect(wireErrorCode(() => decodeIcmp(m.subarray(0, 7)))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeIcmp(m, 0, 7))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeIcmp(m, 0, 9))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeIcmp(m, 9))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeIcmp(m, 0, -1))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => encodeIcmp({ type: 256, code: 0 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeIcmp({ type: 8, code: 0, rest: 2 ** 32 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
  });
});

describe('ICMPv6', () => {
  it('round-trips; the checksum covers the pseudo-header', () => {
    const m = encodeIcmpv6(a6, b6, { type: 128, code: 0 }, Buffer.from('00070001', 'hex'));
    expect(icmpv6ChecksumValid(a6, b6, m)).toBe(true);
    expect(icmpv6ChecksumValid(b6, a6, Buffer.from(m))).toBe(true); // the sum is symmetric in src/dst
    expect(icmpv6ChecksumValid(a6, parseIp('2001:db8::3'), m)).toBe(false);
    const d = decodeIcmpv6(m);
    expect([d.type, d.code, d.body.toString('hex')]).toEqual([128, 0, '00070001']);
  });

  it('checksum validation never throws', () => {
    const m = encodeIcmpv6(a6, b6, { type: 129, code: 0 }, Buffer.alloc(3));
    expect(icmpv6ChecksumValid(a6, b6, m, 0, m.length)).toBe(true);
    expect(icmpv6ChecksumValid(a6, b6, m, 0, m.length + 1)).toBe(false);
    expect(icmpv6ChecksumValid(a6, b6, m, 5)).toBe(false);
    expect(icmpv6ChecksumValid(Buffer.alloc(4), b6, m)).toBe(false);
    expect(icmpv6ChecksumValid(a6, b6, m, -3)).toBe(false);
  });

  it('errors', () => {
    expect(wireErrorCode(() => decodeIcmpv6(Buffer.alloc(3)))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeIcmpv6(Buffer.alloc(8), 0, 9))).toBe('TRUNCATED');
    expect(wireErrorCode(() => encodeIcmpv6(Buffer.alloc(4), b6, { type: 1, code: 0 }, Buffer.alloc(0)))).toBe('BAD_VALUE');
  });
});

describe('neighbour discovery', () => {
  it('solicitation with and without a source link-layer option', () => {
    const { ip: group } = solicitedNodeMulticast(b6);
    const withMac = encodeNeighborSolicitation(a6, group, b6, mac);
    expect(withMac).toHaveLength(32);
    expect(icmpv6ChecksumValid(a6, group, withMac)).toBe(true);
    const m = decodeNeighborMessage(decodeIcmpv6(withMac).body, 135);
    expect([m.type, m.flags, formatIp(m.target), formatMac(m.linkLayerAddress as Buffer)]).toEqual([135, 0, '2001:db8::2', '02:42:c6:13:01:02']);
    expect(m.options).toEqual([{ type: 1, data: mac }]);

    const dad = encodeNeighborSolicitation(Buffer.alloc(16), group, b6);
    expect(dad).toHaveLength(24);
    const d = decodeNeighborMessage(decodeIcmpv6(dad).body, 135);
    expect([d.options, d.linkLayerAddress]).toEqual([[], undefined]);
  });

  it('advertisement: 32 bytes, flags, target link-layer address', () => {
    const flags = ND_FLAG_SOLICITED | ND_FLAG_OVERRIDE;
    const na = encodeNeighborAdvertisement(b6, a6, b6, mac, flags);
    expect(na).toHaveLength(32);
    expect(na.readUInt32BE(4)).toBe(0x60000000);
    expect(icmpv6ChecksumValid(b6, a6, na)).toBe(true);
    const m = decodeNeighborMessage(decodeIcmpv6(na).body, 136);
    expect([m.flags, formatMac(m.linkLayerAddress as Buffer)]).toEqual([0x60000000, '02:42:c6:13:01:02']);
    expect(decodeNeighborMessage(decodeIcmpv6(encodeNeighborAdvertisement(b6, a6, b6, mac, ND_FLAG_ROUTER)).body, 136).flags).toBe(0x80000000);
    expect(wireErrorCode(() => encodeNeighborAdvertisement(b6, a6, b6, mac, 1))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => encodeNeighborAdvertisement(b6, a6, b6, Buffer.alloc(5), flags))).toBe('BAD_VALUE');
  });

  it('walks several options and picks the right link-layer option for the type', () => {
    const body = Buffer.concat([
      Buffer.alloc(4),
      b6,
      Buffer.from('0e01' + '000000000000', 'hex'), // nonce-like unknown option
      Buffer.from('0101' + '020000000001', 'hex'), // source LL
      Buffer.from('0201' + '020000000002', 'hex'), // target LL
    ]);
    expect(formatMac(decodeNeighborMessage(body, 135).linkLayerAddress as Buffer)).toBe('02:00:00:00:00:01');
    const na = decodeNeighborMessage(body, 136);
    expect(formatMac(na.linkLayerAddress as Buffer)).toBe('02:00:00:00:00:02');
    expect(na.options.map((o) => o.type)).toEqual([14, 1, 2]);
  });

  it('errors: other types, short bodies, zero-length and overrunning options', () => {
    const fixed = Buffer.concat([Buffer.alloc(4), b6]);
    expect(wireErrorCode(() => decodeNeighborMessage(fixed, 134))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => decodeNeighborMessage(fixed.subarray(0, 19), 135))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeNeighborMessage(Buffer.concat([fixed, Buffer.from('01')]), 135))).toBe('TRUNCATED');
    expect(wireErrorCode(() => decodeNeighborMessage(Buffer.concat([fixed, Buffer.from('0100000000000000', 'hex')]), 135))).toBe('BAD_LENGTH');
    expect(wireErrorCode(() => decodeNeighborMessage(Buffer.concat([fixed, Buffer.from('0102000000000000', 'hex')]), 135))).toBe('TRUNCATED');
  });

  it('solicited-node multicast group and MAC', () => {
    const { ip, mac: groupMac } = solicitedNodeMulticast(parseIp('2001:db8::aa:bbcc:ddee'));
    expect(formatIp(ip)).toBe('ff02::1:ffcc:ddee');
    expect(formatMac(groupMac)).toBe('33:33:ff:cc:dd:ee');
    expect(wireErrorCode(() => solicitedNodeMulticast(parseIp('198.18.0.1')))).toBe('BAD_VALUE');
  });
});

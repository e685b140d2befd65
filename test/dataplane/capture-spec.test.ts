/**
 * The capture filters of the TypeScript path and the agent (src/dataplane/
 * capture-spec.ts; native/io/capture.c is their twin, held to them by
 * test/e2e/capture-wire.test.ts): inner host over IPv4, IPv6, ARP and VLAN
 * tags, the VTEP, and frames that do not carry an address.
 */
import { describe, expect, it } from 'vitest';
import { CaptureFilter } from '../../src/dataplane/capture-spec.js';
import { encodeArp, encodeEthernet, encodeIPv4, encodeIPv6, parseIp, parseMac } from '../../src/wire/index.js';

const MAC_A = parseMac('02:42:c6:13:01:02');
const MAC_B = parseMac('02:42:c6:13:01:03');
const eth = (etherType: number, payload: Buffer, vlans: { tpid?: number; vid: number }[] = []) =>
  encodeEthernet({ dst: MAC_B, src: MAC_A, etherType, vlans: vlans.map((v) => ({ tpid: v.tpid ?? 0x8100, tci: v.vid })) }, payload);
const v4 = (src: string, dst: string) => eth(0x0800, encodeIPv4({ protocol: 17, src: parseIp(src), dst: parseIp(dst) }, Buffer.alloc(8)));
const v6 = (src: string, dst: string) => eth(0x86dd, encodeIPv6({ nextHeader: 17, src: parseIp(src), dst: parseIp(dst) }, Buffer.alloc(8)));

describe('CaptureFilter', () => {
  it('takes everything without filters', () => {
    const f = new CaptureFilter({ inner: true, outer: false });
    expect(f.hostMatches(Buffer.alloc(0))).toBe(true);
    expect(f.vtepMatches(undefined)).toBe(true);
    expect(f.filtersHost).toBe(false);
  });

  it('matches the inner IPv4 or IPv6 source or destination, behind up to two VLAN tags', () => {
    const f = new CaptureFilter({ inner: false, outer: true, host: '198.19.1.2' });
    expect(f.filtersHost).toBe(true);
    expect(f.hostMatches(v4('198.19.1.2', '198.19.1.9'))).toBe(true);
    expect(f.hostMatches(v4('198.19.1.9', '198.19.1.2'))).toBe(true);
    expect(f.hostMatches(v4('198.19.1.9', '198.19.1.8'))).toBe(false);
    const ip = encodeIPv4({ protocol: 17, src: parseIp('198.19.1.9'), dst: parseIp('198.19.1.2') }, Buffer.alloc(8));
    expect(f.hostMatches(eth(0x0800, ip, [{ vid: 5 }]))).toBe(true);
    expect(f.hostMatches(eth(0x0800, ip, [{ tpid: 0x88a8, vid: 5 }, { vid: 6 }]))).toBe(true);
    expect(f.hostMatches(v6('2001:db8:1::2', '2001:db8:1::9'))).toBe(false); // another family never matches
    const f6 = new CaptureFilter({ inner: true, outer: false, host: '2001:db8:1::9' });
    expect(f6.hostMatches(v6('2001:db8:1::2', '2001:db8:1::9'))).toBe(true);
    expect(f6.hostMatches(v4('198.19.1.2', '198.19.1.9'))).toBe(false);
  });

  it('matches ARP sender or target, and never a frame too short to hold the addresses', () => {
    const f = new CaptureFilter({ inner: true, outer: false, host: '198.19.1.2' });
    const arp = encodeArp({ op: 1, sha: MAC_A, spa: parseIp('198.19.1.9'), tha: Buffer.alloc(6), tpa: parseIp('198.19.1.2') });
    expect(f.hostMatches(eth(0x0806, arp))).toBe(true);
    expect(f.hostMatches(v4('198.19.1.2', '198.19.1.9').subarray(0, 14 + 19))).toBe(false);
    expect(f.hostMatches(Buffer.alloc(10))).toBe(false);
  });

  it('matches the VTEP in canonical form, and refuses addresses that are not IPs', () => {
    const f = new CaptureFilter({ inner: false, outer: true, vtep: '2001:DB8:0::1' });
    expect(f.vtepMatches('2001:db8::1')).toBe(true);
    expect(f.vtepMatches('2001:db8::2')).toBe(false);
    expect(f.vtepMatches(undefined)).toBe(false);
    expect(() => new CaptureFilter({ inner: true, outer: false, host: 'nope' })).toThrow();
  });
});

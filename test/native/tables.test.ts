/**
 * The native tables through the binding: FDB set/replace/delete, neighbour
 * entries with IPv4 and IPv6 keys, and the VTEP set derived from the FDB by
 * refcount — observed through vtepRefs and through the decisions that read
 * the tables (ARP/ND proxy, FDB lookup, ingress VTEP and source checks).
 */
import { describe, expect, it } from 'vitest';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { haveAddon } from './support.js';
import * as F from '../../src/testkit/frames.js';

function emptyDatapath(): NativeDatapath {
  const dp = new NativeDatapath({ bindAddress: '127.0.0.1', dataPort: 0 });
  dp.addDetachedNetwork(F.VNI, F.MTU);
  return dp;
}

describe.skipIf(!haveAddon())('native tables', () => {
  it('FDB: set, replace and delete steer egress and move the VTEP refcounts', () => {
    const dp = emptyDatapath();
    expect(dp.processEgress(F.VNI, F.ipv4Frame()).drop).toBe('no_fdb');
    dp.fdbSet(F.VNI, F.REMOTE_MAC, F.REMOTE_VTEP);
    expect(dp.processEgress(F.VNI, F.ipv4Frame()).out.map((o) => o.vtep)).toEqual([F.REMOTE_VTEP]);
    expect(dp.vtepRefs(F.VNI, F.REMOTE_VTEP)).toBe(1);

    dp.fdbSet(F.VNI, F.REMOTE_MAC, F.OTHER_VTEP); // replace
    expect(dp.processEgress(F.VNI, F.ipv4Frame()).out.map((o) => o.vtep)).toEqual([F.OTHER_VTEP]);
    expect(dp.vtepRefs(F.VNI, F.REMOTE_VTEP)).toBe(0);
    expect(dp.vtepRefs(F.VNI, F.OTHER_VTEP)).toBe(1);

    dp.fdbSet(F.VNI, F.REMOTE_MAC, F.OTHER_VTEP); // same value again: no double count
    expect(dp.vtepRefs(F.VNI, F.OTHER_VTEP)).toBe(1);

    dp.fdbDelete(F.VNI, F.REMOTE_MAC);
    expect(dp.processEgress(F.VNI, F.ipv4Frame()).drop).toBe('no_fdb');
    expect(dp.vtepRefs(F.VNI, F.OTHER_VTEP)).toBe(0);
  });

  it('a VTEP stays known while any FDB entry of the VNI points at it', () => {
    const dp = emptyDatapath();
    dp.fdbSet(F.VNI, F.REMOTE_MAC, F.REMOTE_VTEP);
    dp.fdbSet(F.VNI, F.OTHER_MAC, F.REMOTE_VTEP);
    expect(dp.vtepRefs(F.VNI, F.REMOTE_VTEP)).toBe(2);
    expect(dp.processIngress(F.REMOTE_VTEP, F.vxlanFrom(F.REMOTE_MAC)).frame).toBeDefined();

    dp.fdbDelete(F.VNI, F.OTHER_MAC);
    expect(dp.vtepRefs(F.VNI, F.REMOTE_VTEP)).toBe(1);
    expect(dp.processIngress(F.REMOTE_VTEP, F.vxlanFrom(F.REMOTE_MAC)).frame).toBeDefined();

    dp.fdbDelete(F.VNI, F.REMOTE_MAC);
    expect(dp.vtepRefs(F.VNI, F.REMOTE_VTEP)).toBe(0);
    expect(dp.processIngress(F.REMOTE_VTEP, F.vxlanFrom(F.REMOTE_MAC)).drop).toBe('unknown_vtep');
  });

  it('keeps VNIs apart', () => {
    const dp = emptyDatapath();
    dp.addDetachedNetwork(F.VNI + 1, F.MTU);
    dp.fdbSet(F.VNI + 1, F.REMOTE_MAC, F.REMOTE_VTEP);
    expect(dp.processEgress(F.VNI, F.ipv4Frame()).drop).toBe('no_fdb');
    expect(dp.processEgress(F.VNI + 1, F.ipv4Frame()).out).toHaveLength(1);
    expect(dp.vtepRefs(F.VNI, F.REMOTE_VTEP)).toBe(0);
  });

  it('neighbour entries with IPv4 and IPv6 keys: set, replace, delete', () => {
    const dp = emptyDatapath();
    dp.neighSet(F.VNI, F.REMOTE_IP, F.REMOTE_MAC);
    dp.neighSet(F.VNI, F.REMOTE_IP6, F.OTHER_MAC);
    const arp = dp.processEgress(F.VNI, F.arpRequest());
    expect(arp.reply[0]!.subarray(6, 12).toString('hex')).toBe(F.REMOTE_MAC.replaceAll(':', ''));
    const nd = dp.processEgress(F.VNI, F.neighborSolicitation());
    expect(nd.reply[0]!.subarray(6, 12).toString('hex')).toBe(F.OTHER_MAC.replaceAll(':', ''));

    dp.neighSet(F.VNI, F.REMOTE_IP, F.OTHER_MAC); // replace
    expect(dp.processEgress(F.VNI, F.arpRequest()).reply[0]!.subarray(6, 12).toString('hex')).toBe(F.OTHER_MAC.replaceAll(':', ''));

    dp.neighDelete(F.VNI, F.REMOTE_IP);
    expect(dp.processEgress(F.VNI, F.arpRequest()).drop).toBe('arp_unknown');
    expect(dp.processEgress(F.VNI, F.neighborSolicitation()).reply).toHaveLength(1); // the IPv6 key is separate
    dp.neighDelete(F.VNI, F.REMOTE_IP6);
    expect(dp.processEgress(F.VNI, F.neighborSolicitation()).drop).toBe('nd_unknown');
  });

  it('takes IPv4-mapped IPv6 VTEPs as IPv4 and IPv6 VTEPs as such', () => {
    const dp = emptyDatapath();
    dp.fdbSet(F.VNI, F.REMOTE_MAC, '::ffff:198.18.0.2');
    expect(dp.vtepRefs(F.VNI, '198.18.0.2')).toBe(1);
    expect(dp.processIngress('198.18.0.2', F.vxlanFrom(F.REMOTE_MAC)).frame).toBeDefined();
    dp.fdbSet(F.VNI, F.OTHER_MAC, '2001:db8::2');
    expect(dp.processEgress(F.VNI, F.ipv4Frame({ dstMac: F.OTHER_MAC })).out[0]!.vtep).toBe('2001:db8::2');
    expect(dp.processIngress('2001:db8::2', F.vxlanFrom(F.OTHER_MAC)).frame).toBeDefined();
  });

  it('grows past its initial capacity and keeps every entry', () => {
    const dp = emptyDatapath();
    const mac = (i: number): string => `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    for (let i = 0; i < 2000; i++) dp.fdbSet(F.VNI, mac(i), `198.18.${(i >> 8) & 0xff}.${i & 0xff}`);
    for (let i = 0; i < 2000; i += 2) dp.fdbDelete(F.VNI, mac(i));
    for (let i = 0; i < 2000; i++) {
      const out = dp.processEgress(F.VNI, F.ipv4Frame({ dstMac: mac(i) }));
      if (i % 2 === 0) expect(out.drop).toBe('no_fdb');
      else expect(out.out[0]!.vtep).toBe(`198.18.${(i >> 8) & 0xff}.${i & 0xff}`);
    }
  });

  it('rejects malformed table arguments with typed errors', () => {
    const dp = emptyDatapath();
    expect(() => dp.fdbSet(F.VNI, 'not-a-mac', F.REMOTE_VTEP)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => dp.fdbSet(F.VNI, F.REMOTE_MAC, '198.18.0')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => dp.neighSet(F.VNI + 9, F.REMOTE_IP, F.REMOTE_MAC)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

/**
 * Multicast networks in the native per-frame decisions (native/pipeline/
 * lookup.c, egress.c; docs/multicast.md "Replication") through
 * processEgress/processIngress: every rule of MulticastSettings, the group
 * table, storm control, counting, fragments replicated, encrypted copies
 * each opened by its own peer, and networks without the setting unchanged.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { generateNetworkKey, type KeyringState } from '../../src/crypto/index.js';
import type { EgressResult, NetworkEncryption } from '../../src/dataplane/datapath.js';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { decodeEthernet, decodeIPv4, encodeVxlan, formatMac } from '../../src/wire/index.js';
import * as F from '../../src/testkit/frames.js';
import * as G from '../../src/testkit/group-frames.js';
import { haveAddon } from './support.js';

const PLAIN = 5000;
const THIRD_VTEP = '2001:db8::9';
const GROUP_MAC = '01:00:5e:01:02:03';

/** A datapath with a multicast network F.VNI (rate `rate`) and a plain one, three VTEPs on each. */
function multicastPath(rate = 0): NativeDatapath {
  const dp = new NativeDatapath({ bindAddress: '198.18.0.1', dataPort: 4789 });
  dp.addDetachedNetwork(F.VNI, F.MTU, undefined, { rate });
  dp.addDetachedNetwork(PLAIN, F.MTU);
  for (const vni of [F.VNI, PLAIN]) {
    dp.fdbSet(vni, F.REMOTE_MAC, F.REMOTE_VTEP);
    dp.fdbSet(vni, F.OTHER_MAC, F.OTHER_VTEP);
    dp.fdbSet(vni, '02:42:c6:13:01:09', THIRD_VTEP);
    dp.neighSet(vni, F.REMOTE_IP, F.REMOTE_MAC);
  }
  return dp;
}

const vteps = (r: EgressResult): string[] => r.out.map((o) => o.vtep).sort();
const ALL = [F.REMOTE_VTEP, F.OTHER_VTEP, THIRD_VTEP].sort();

describe.skipIf(!haveAddon())('native replication on a multicast network', () => {
  let dp: NativeDatapath;
  beforeEach(() => {
    dp = multicastPath();
  });

  it('sends broadcast and link-local groups to every VTEP, the same bytes to each', () => {
    const frames = [G.udp4ToGroup('255.255.255.255', { dstMac: G.BROADCAST_MAC }), G.udp4ToGroup('198.19.1.255', { dstMac: G.BROADCAST_MAC }), G.udp4ToGroup('224.0.0.251'), G.udp6ToGroup('ff02::fb'), G.udp6ToGroup('ff02::1:3')];
    for (const frame of frames) {
      const r = dp.processEgress(F.VNI, frame);
      expect(r.drop).toBeUndefined();
      expect(vteps(r)).toEqual(ALL);
      for (const o of r.out) expect(o.payload).toEqual(encodeVxlan(F.VNI, frame));
      expect(new Set(r.out.map((o) => o.flowHash)).size).toBe(1);
    }
    const c = dp.counters();
    expect(c.multicast).toEqual({ frames: 5, copies: 15, rx: 0 });
    expect(c.tx.packets).toBe(15);
    const perVtep = dp.peerCounters().filter((p) => ALL.includes(p.vtep));
    expect(perVtep.map((p) => p.txPackets)).toEqual([5, 5, 5]);
  });

  it('sends a tagged broadcast to every VTEP too', () => {
    const tagged = F.ipv4Frame({ dstMac: 'ff:ff:ff:ff:ff:ff', vlans: [{ tpid: 0x8100, tci: 7 }] });
    expect(vteps(dp.processEgress(F.VNI, tagged))).toEqual(ALL);
  });

  it('drops a solicited-node destination that is not ND, and a group without members', () => {
    expect(dp.processEgress(F.VNI, G.udp6ToGroup('ff02::1:ff13:103')).drop).toBe('multicast');
    expect(dp.processEgress(F.VNI, G.udp4ToGroup('239.1.2.3')).drop).toBe('multicast');
    expect(dp.processEgress(F.VNI, G.udp6ToGroup('ff05::1:3')).drop).toBe('multicast');
    expect(dp.counters().drops.multicast).toBe(3);
    expect(dp.counters().multicast.frames).toBe(0);
  });

  it('still answers ARP and neighbour discovery locally', () => {
    const arp = dp.processEgress(F.VNI, F.arpRequest());
    expect(arp.reply).toHaveLength(1);
    expect(arp.out).toHaveLength(0);
    dp.neighSet(F.VNI, F.REMOTE_IP6, F.REMOTE_MAC);
    const ns = dp.processEgress(F.VNI, F.neighborSolicitation());
    expect(ns.reply).toHaveLength(1);
    expect(ns.out).toHaveLength(0);
    expect(dp.counters().multicast.frames).toBe(0);
  });

  it('hands IGMP and MLD to the membership listener: not sent, not counted as a drop', () => {
    for (const frame of [G.igmpJoin('239.1.2.3', 2), G.igmpJoin('239.1.2.3', 3), G.mldJoin('ff05::1:3'), G.mldJoin('ff05::1:3', 2, true)]) {
      const r = dp.processEgress(F.VNI, frame);
      expect(r).toEqual({ out: [], reply: [], membership: true });
    }
    const c = dp.counters();
    expect(Object.values(c.drops).reduce((a, b) => a + b, 0)).toBe(0);
    expect(c.tx.packets).toBe(0);
  });

  it('sends other groups to the VTEPs of the group table: set, replace, delete', () => {
    const frame = G.udp4ToGroup('239.1.2.3');
    dp.groupSet(F.VNI, GROUP_MAC, [F.OTHER_VTEP, '198.18.0.77', F.OTHER_VTEP]);
    expect(dp.groups(F.VNI)).toEqual(new Map([[GROUP_MAC, [F.OTHER_VTEP, '198.18.0.77']]]));
    expect(vteps(dp.processEgress(F.VNI, frame))).toEqual([F.OTHER_VTEP, '198.18.0.77']);
    dp.groupSet(F.VNI, GROUP_MAC, ['2001:db8:0:0::9']);
    expect(dp.groups(F.VNI)).toEqual(new Map([[GROUP_MAC, [THIRD_VTEP]]]));
    expect(vteps(dp.processEgress(F.VNI, frame))).toEqual([THIRD_VTEP]);
    dp.groupSet(F.VNI, '33:33:00:01:00:03', [F.REMOTE_VTEP]);
    expect(vteps(dp.processEgress(F.VNI, G.udp6ToGroup('ff05::1:3')))).toEqual([F.REMOTE_VTEP]);
    dp.groupSet(F.VNI, GROUP_MAC, []);
    expect(dp.groups(F.VNI)).toEqual(new Map([['33:33:00:01:00:03', [F.REMOTE_VTEP]]]));
    expect(dp.processEgress(F.VNI, frame).drop).toBe('multicast');
  });

  it('ignores a group for a network it does not have, refuses a MAC that is not a group', () => {
    expect(() => dp.groupSet(999, GROUP_MAC, [F.REMOTE_VTEP])).not.toThrow();
    expect(dp.groups(999)).toEqual(new Map());
    expect(() => dp.groupSet(F.VNI, F.REMOTE_MAC, [F.REMOTE_VTEP])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => dp.groupSet(F.VNI, GROUP_MAC, ['not-an-address'])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('fragments a group frame bigger than the MTU (no DF) and replicates each fragment', () => {
    const r = dp.processEgress(F.VNI, G.udp4ToGroup('255.255.255.255', { size: 3000, dstMac: G.BROADCAST_MAC }));
    expect(r.drop).toBeUndefined();
    expect(r.out).toHaveLength(9);
    const byVtep = new Map<string, Buffer[]>();
    for (const o of r.out) byVtep.set(o.vtep, [...(byVtep.get(o.vtep) ?? []), o.payload]);
    expect([...byVtep.keys()].sort()).toEqual(ALL);
    const [first, ...rest] = [...byVtep.values()];
    for (const other of rest) expect(other).toEqual(first);
    const offsets = first.map((p) => decodeIPv4(p, 8 + 14).fragmentOffset);
    expect(offsets[0]).toBe(0);
    expect(offsets[1]).toBeGreaterThan(0);
    expect(dp.counters()).toMatchObject({ fragments: 3, multicast: { frames: 1, copies: 9, rx: 0 } });
    const df = dp.processEgress(F.VNI, G.udp4ToGroup('255.255.255.255', { size: 3000, df: true, dstMac: G.BROADCAST_MAC }));
    expect(df).toEqual({ out: [], reply: [], drop: 'too_big' }); // no ICMP error about a group frame (RFC 1122 3.2.2)
  });

  it('traces the replication list, counting nothing', () => {
    const before = dp.counters();
    const r = dp.processEgress(F.VNI, G.udp4ToGroup('255.255.255.255', { size: 3000, dstMac: G.BROADCAST_MAC }), true);
    expect(r.trace).toMatchObject({ stage: 'encapsulate', vteps: ALL, vtep: ALL[0], pieces: 3 });
    expect(r.trace?.payloadLen).toBe(8 + 14 + 20 + 1424); // VXLAN, Ethernet, IPv4 header, floor((1450 − 20) / 8) × 8
    expect(dp.processEgress(F.VNI, G.udp4ToGroup('239.1.2.3'), true).trace).toMatchObject({ stage: 'lookup', drop: 'multicast', vteps: [] });
    expect(dp.processEgress(F.VNI, G.igmpJoin('239.1.2.3'), true).trace).toMatchObject({ stage: 'lookup' });
    expect(dp.counters()).toEqual(before);
  });

  it('counts group frames from other VTEPs as mcast_rx on a multicast network only', () => {
    const inner = G.udp4ToGroup('239.1.2.3');
    Buffer.from(F.REMOTE_MAC.replaceAll(':', ''), 'hex').copy(inner, 6);
    for (const vni of [F.VNI, PLAIN]) {
      const r = dp.processIngress(F.REMOTE_VTEP, encodeVxlan(vni, inner));
      expect(r).toMatchObject({ vni, frame: inner });
    }
    expect(dp.counters()).toMatchObject({ rx: { packets: 2 }, multicast: { rx: 1 } });
  });
});

describe.skipIf(!haveAddon())('native storm control', () => {
  it('lets exactly the burst of a rate through at once, the rest dropped multicast_rate', () => {
    const dp = multicastPath(1); // burst max(10, ceil(1/10)) = 10 frames, then one a second
    // A traced frame only looks at the bucket, it takes no token.
    for (let i = 0; i < 15; i++) expect(dp.processEgress(F.VNI, G.udp4ToGroup('224.0.0.251'), true).trace?.drop).toBeUndefined();
    const results = Array.from({ length: 30 }, () => dp.processEgress(F.VNI, G.udp4ToGroup('224.0.0.251')));
    expect(results.filter((r) => r.drop === undefined)).toHaveLength(10);
    expect(results.filter((r) => r.drop === 'multicast_rate')).toHaveLength(20);
    expect(dp.counters()).toMatchObject({ multicast: { frames: 10, copies: 30 }, drops: { multicast_rate: 20 } });
    expect(dp.processEgress(F.VNI, G.udp4ToGroup('224.0.0.251'), true).trace).toMatchObject({ stage: 'lookup', drop: 'multicast_rate' });
    // Unicast and membership frames need no token.
    expect(dp.processEgress(F.VNI, F.ipv4Frame()).drop).toBeUndefined();
    expect(dp.processEgress(F.VNI, G.igmpJoin('239.1.2.3')).membership).toBe(true);
  });

  it('has no limit at rate 0, and a changed rate starts a full bucket', () => {
    const dp = multicastPath(0);
    for (let i = 0; i < 200; i++) expect(dp.processEgress(F.VNI, G.udp4ToGroup('224.0.0.251')).drop).toBeUndefined();
    dp.addDetachedNetwork(F.VNI, F.MTU, undefined, { rate: 1 });
    const passed = Array.from({ length: 15 }, () => dp.processEgress(F.VNI, G.udp4ToGroup('224.0.0.251'))).filter((r) => !r.drop);
    expect(passed).toHaveLength(10);
  });
});

describe.skipIf(!haveAddon())('a network without the multicast setting', () => {
  it('drops broadcast, multicast and membership frames exactly as before', () => {
    const dp = multicastPath();
    dp.groupSet(PLAIN, GROUP_MAC, [F.REMOTE_VTEP]);
    expect(dp.processEgress(PLAIN, G.udp4ToGroup('255.255.255.255', { dstMac: G.BROADCAST_MAC })).drop).toBe('broadcast');
    expect(dp.processEgress(PLAIN, G.udp4ToGroup('224.0.0.251')).drop).toBe('multicast');
    expect(dp.processEgress(PLAIN, G.udp4ToGroup('239.1.2.3')).drop).toBe('multicast');
    expect(dp.processEgress(PLAIN, G.igmpJoin('239.1.2.3')).drop).toBe('multicast');
    expect(dp.counters()).toMatchObject({ tx: { packets: 0 }, multicast: { frames: 0, copies: 0 }, drops: { broadcast: 1, multicast: 3 } });
  });
});

const ENCRYPTION: NetworkEncryption = { carrier: 'udp', keySize: 16, esn: true };
const RING: KeyringState = { keys: [generateNetworkKey(5)], sendTag: 5 };
const LOCAL_VTEP = '198.18.0.1';
const UNKEYED_VTEP = '198.18.0.99';

/** A host of an encrypted multicast network: `self`, with `endpoints` (MAC → VTEP) in its FDB, keyed. */
function encryptedHost(self: string, endpoints: [string, string][]): NativeDatapath {
  const dp = new NativeDatapath({ bindAddress: self, dataPort: 4789 });
  dp.addDetachedNetwork(F.VNI, F.MTU, ENCRYPTION, { rate: 0 });
  for (const [mac, vtep] of endpoints) dp.fdbSet(F.VNI, mac, vtep);
  dp.setKeys(F.VNI, RING);
  return dp;
}

describe.skipIf(!haveAddon())('replication on an encrypted multicast network', () => {
  it('seals a copy per VTEP under its own SA; a VTEP without one is skipped and counted no_sa', () => {
    const local = encryptedHost(LOCAL_VTEP, [
      [F.REMOTE_MAC, F.REMOTE_VTEP],
      [F.OTHER_MAC, F.OTHER_VTEP],
    ]);
    const peers = new Map([F.REMOTE_VTEP, F.OTHER_VTEP].map((v) => [v, encryptedHost(v, [[F.LOCAL_MAC, LOCAL_VTEP]])]));
    local.groupSet(F.VNI, GROUP_MAC, [F.REMOTE_VTEP, F.OTHER_VTEP, UNKEYED_VTEP]);
    const frame = G.udp4ToGroup('239.1.2.3', { size: 600 });
    const r = local.processEgress(F.VNI, frame);
    expect(r.drop).toBe('no_sa');
    expect(vteps(r)).toEqual([F.REMOTE_VTEP, F.OTHER_VTEP].sort());
    expect(r.out.every((o) => o.carrier === 'udp')).toBe(true);
    expect(r.out[0].payload.subarray(0, 4)).not.toEqual(r.out[1].payload.subarray(0, 4)); // SPIs differ per peer
    for (const o of r.out) {
      expect(peers.get(o.vtep)!.processEsp(LOCAL_VTEP, o.payload)).toEqual({ vni: F.VNI, frame });
      const other = [...peers.keys()].find((v) => v !== o.vtep)!;
      expect(peers.get(other)!.processEsp(LOCAL_VTEP, o.payload).drop).toBe('esp_bad_spi');
    }
    expect(local.counters()).toMatchObject({ tx: { packets: 2 }, multicast: { frames: 1, copies: 2 }, drops: { no_sa: 1 } });
    for (const p of peers.values()) expect(p.counters().multicast.rx).toBe(1);
    const broadcast = local.processEgress(F.VNI, G.udp4ToGroup('255.255.255.255', { dstMac: G.BROADCAST_MAC }));
    expect(broadcast.drop).toBeUndefined();
    expect(vteps(broadcast)).toEqual([F.REMOTE_VTEP, F.OTHER_VTEP].sort());
    const inner = decodeEthernet(peers.get(F.REMOTE_VTEP)!.processEsp(LOCAL_VTEP, broadcast.out.find((o) => o.vtep === F.REMOTE_VTEP)!.payload).frame!);
    expect(formatMac(inner.dst)).toBe('ff:ff:ff:ff:ff:ff');
  });
});

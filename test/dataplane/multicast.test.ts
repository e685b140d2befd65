/**
 * Replication on the ReferenceProcessor (the rules of MulticastSettings,
 * src/dataplane/multicast/settings.ts): who gets a group frame, IGMP/MLD to
 * the membership listener, storm control on a clock the test steps,
 * fragments replicated, traces, ingress counting, and networks without the
 * setting unchanged. Copy order is unspecified: outputs are compared sorted.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { countersFromSlots, multicastBurst, type EgressResult } from '../../src/dataplane/datapath.js';
import { ReferenceProcessor, type NetworkConfig } from '../../src/dataplane/process.js';
import { StormControl } from '../../src/dataplane/storm-control.js';
import { FdbTable, GroupTable, NeighbourTable } from '../../src/dataplane/tables.js';
import { decodeIPv4, encodeVxlan, parseMac, VXLAN_HEADER_LENGTH } from '../../src/wire/index.js';
import * as F from '../../src/testkit/frames.js';
import { BROADCAST_MAC, groupMacText, igmpJoin, mldJoin, udp4ToGroup, udp6ToGroup } from '../../src/testkit/group-frames.js';

const THIRD_MAC = '02:42:c6:13:01:05';
const THIRD_VTEP = '198.18.0.4';
const ALL = [F.REMOTE_VTEP, F.OTHER_VTEP, THIRD_VTEP].sort();
const PLAIN_VNI = F.VNI + 1;
const MS = 1_000_000; // nanoseconds

let proc: ReferenceProcessor;
let nowNs: number;
let networks: Map<number, NetworkConfig>;
const counters = () => countersFromSlots(proc.counters);
const vtepsOf = (r: EgressResult): string[] => r.out.map((o) => o.vtep).sort();

beforeEach(() => {
  nowNs = 1000 * MS;
  const fdb = new FdbTable();
  for (const vni of [F.VNI, PLAIN_VNI]) {
    fdb.set(vni, F.REMOTE_MAC, F.REMOTE_VTEP);
    fdb.set(vni, F.OTHER_MAC, F.OTHER_VTEP);
    fdb.set(vni, THIRD_MAC, THIRD_VTEP);
  }
  const neigh = new NeighbourTable();
  neigh.set(F.VNI, F.REMOTE_IP, F.REMOTE_MAC);
  neigh.set(F.VNI, F.REMOTE_IP6, F.REMOTE_MAC);
  networks = new Map<number, NetworkConfig>([
    [F.VNI, { mtu: F.MTU, multicast: { rate: 0 } }],
    [PLAIN_VNI, { mtu: F.MTU }],
  ]);
  proc = new ReferenceProcessor(networks, fdb, neigh, { storm: new StormControl(() => nowNs) });
});

describe('multicast egress: who gets a frame', () => {
  it('sends a broadcast to every VTEP of the network: one VXLAN payload, a copy each, counted once as a frame', () => {
    const frame = udp4ToGroup('198.19.1.255', { dstMac: BROADCAST_MAC });
    const r = proc.processEgress(F.VNI, frame);
    expect(r.drop).toBeUndefined();
    expect(vtepsOf(r)).toEqual(ALL);
    for (const o of r.out) {
      expect(o.payload).toEqual(encodeVxlan(F.VNI, frame));
      expect(o.flowHash).toBe(r.out[0].flowHash);
    }
    const c = counters();
    expect(c.multicast).toEqual({ frames: 1, copies: 3, rx: 0 });
    expect(c.tx).toEqual({ packets: 3, bytes: 3 * (frame.length + VXLAN_HEADER_LENGTH) });
    expect(proc.peerCounters().map((p) => [p.vtep, p.txPackets])).toEqual(ALL.map((v) => [v, 1]));
  });

  it('sends link-local groups (224.0.0.0/24, ff02::/16) to every VTEP without a group entry', () => {
    for (const frame of [udp4ToGroup('224.0.0.251'), udp6ToGroup('ff02::fb'), udp6ToGroup('ff02::1')]) {
      expect(vtepsOf(proc.processEgress(F.VNI, frame))).toEqual(ALL);
    }
    expect(counters().multicast).toEqual({ frames: 3, copies: 9, rx: 0 });
  });

  it('sends other groups only to the VTEPs of their group entry, and drops them while there is none', () => {
    const v4 = udp4ToGroup('239.1.2.3');
    const v6 = udp6ToGroup('ff15::1234');
    expect(proc.processEgress(F.VNI, v4).drop).toBe('multicast');
    expect(proc.processEgress(F.VNI, v6).drop).toBe('multicast');
    proc.groups.set(F.VNI, groupMacText('239.1.2.3'), [THIRD_VTEP, F.REMOTE_VTEP]);
    proc.groups.set(F.VNI, groupMacText('ff15::1234'), [F.OTHER_VTEP]);
    expect(vtepsOf(proc.processEgress(F.VNI, v4))).toEqual([F.REMOTE_VTEP, THIRD_VTEP]);
    expect(vtepsOf(proc.processEgress(F.VNI, v6))).toEqual([F.OTHER_VTEP]);
    // The table is by MAC: 239.129.2.3 shares 239.1.2.3's MAC (23 bits), as on a switch.
    expect(vtepsOf(proc.processEgress(F.VNI, udp4ToGroup('239.129.2.3')))).toEqual([F.REMOTE_VTEP, THIRD_VTEP]);
    proc.groups.set(F.VNI, groupMacText('239.1.2.3'), []);
    expect(proc.processEgress(F.VNI, v4).drop).toBe('multicast');
    expect(counters().drops.multicast).toBe(3);
    expect(counters().multicast).toEqual({ frames: 3, copies: 5, rx: 0 });
  });

  it('drops traffic to a solicited-node group that is not neighbour discovery; ND and ARP are still answered locally', () => {
    expect(proc.processEgress(F.VNI, udp6ToGroup('ff02::1:ff00:3')).drop).toBe('multicast');
    expect(proc.processEgress(F.VNI, F.neighborSolicitation()).reply).toHaveLength(1);
    expect(proc.processEgress(F.VNI, F.arpRequest()).reply).toHaveLength(1);
    const c = counters();
    expect([c.drops.multicast, c.ndReplies, c.arpReplies, c.tx.packets]).toEqual([1, 1, 1, 0]);
  });

  it('keeps unicast as it was', () => {
    const r = proc.processEgress(F.VNI, F.ipv4Frame());
    expect(vtepsOf(r)).toEqual([F.REMOTE_VTEP]);
    expect(counters().multicast).toEqual({ frames: 0, copies: 0, rx: 0 });
  });
});

describe('multicast egress: membership reports', () => {
  it('hands IGMPv2/v3 and MLDv1/v2 (with and without hop-by-hop header) to the listener: not sent, not a drop', () => {
    const reports = [igmpJoin('239.1.2.3', 2), igmpJoin('239.1.2.3', 3), mldJoin('ff15::1', 1), mldJoin('ff15::1', 2), mldJoin('ff15::1', 2, true)];
    for (const frame of reports) {
      const r = proc.processEgress(F.VNI, frame);
      expect(r).toEqual({ out: [], reply: [], membership: true });
    }
    const c = counters();
    expect(Object.values(c.drops).every((n) => n === 0)).toBe(true);
    expect(c.tx.packets).toBe(0);
  });

  it('does not mistake a truncated hop-by-hop header or other ICMPv6 for MLD', () => {
    const cut = mldJoin('ff15::1', 2).subarray(0, 14 + 40 + 4);
    expect(proc.processEgress(F.VNI, cut).membership).toBeUndefined();
    expect(proc.processEgress(F.VNI, F.ipv6Frame({ nextHeader: 58, icmpType: 128, dstMac: '33:33:00:00:00:01' })).membership).toBeUndefined();
  });
});

describe('multicast egress: storm control', () => {
  it('passes a burst, then one frame per interval as time moves, never more than a burst', () => {
    networks.get(F.VNI)!.multicast = { rate: 100 }; // 10 ms a frame, burst 10
    const frame = udp4ToGroup('224.0.0.251');
    const send = (n: number): number => Array.from({ length: n }, () => proc.processEgress(F.VNI, frame)).filter((r) => r.drop === undefined).length;
    expect(multicastBurst(100)).toBe(10);
    expect(send(15)).toBe(10);
    nowNs += 10 * MS;
    expect(send(3)).toBe(1);
    nowNs += 25 * MS;
    expect(send(3)).toBe(2);
    nowNs += 10_000 * MS; // a long pause refills only the burst
    expect(send(20)).toBe(10);
    const c = counters();
    expect(c.drops.multicast_rate).toBe(5 + 2 + 1 + 10);
    expect(c.multicast).toEqual({ frames: 23, copies: 69, rx: 0 }); // one token per frame, three copies each
  });

  it('limits each network on its own, and rate 0 not at all', () => {
    networks.set(F.VNI + 2, { mtu: F.MTU, multicast: { rate: 100 } });
    networks.get(F.VNI)!.multicast = { rate: 100 };
    const frame = udp4ToGroup('198.19.1.255', { dstMac: BROADCAST_MAC });
    for (let i = 0; i < 10; i++) proc.processEgress(F.VNI, frame);
    expect(proc.processEgress(F.VNI, frame).drop).toBe('multicast_rate');
    expect(proc.processEgress(F.VNI + 2, frame).drop).toBe('multicast'); // its own bucket; no VTEPs there
    networks.get(F.VNI)!.multicast = { rate: 0 };
    for (let i = 0; i < 1000; i++) expect(proc.processEgress(F.VNI, frame).drop).toBeUndefined();
  });
});

describe('multicast egress: size', () => {
  it('fragments a too-big IPv4 group frame without DF once and replicates every fragment', () => {
    proc.groups.set(F.VNI, groupMacText('239.1.2.3'), [F.REMOTE_VTEP, F.OTHER_VTEP]);
    const r = proc.processEgress(F.VNI, udp4ToGroup('239.1.2.3', { size: 3000 }));
    expect(r.drop).toBeUndefined();
    expect(r.out).toHaveLength(6);
    const byVtep = (v: string) => r.out.filter((o) => o.vtep === v).map((o) => o.payload);
    expect(byVtep(F.REMOTE_VTEP)).toEqual(byVtep(F.OTHER_VTEP));
    const offsets = byVtep(F.REMOTE_VTEP).map((p) => decodeIPv4(p, VXLAN_HEADER_LENGTH + 14).fragmentOffset);
    expect(offsets[0]).toBe(0);
    expect(offsets[1]).toBeGreaterThan(0);
    expect(offsets[2]).toBeGreaterThan(offsets[1]);
    expect(counters()).toMatchObject({ fragments: 3, multicast: { frames: 1, copies: 6, rx: 0 }, tx: { packets: 6 } });
  });

  it('drops a too-big group frame with DF or over IPv6 without an ICMP error (it would come from the group address)', () => {
    expect(proc.processEgress(F.VNI, udp4ToGroup('224.0.0.251', { size: 3000, df: true }))).toEqual({ out: [], reply: [], drop: 'too_big' });
    expect(proc.processEgress(F.VNI, udp6ToGroup('ff02::fb', { size: 3000 }))).toEqual({ out: [], reply: [], drop: 'too_big' });
    expect(counters()).toMatchObject({ icmpErrors: 0, multicast: { frames: 0, copies: 0 }, drops: { too_big: 2 } });
  });
});

describe('multicast trace', () => {
  it('gives the replication list, its first as vtep, and the frame’s pieces; nothing counted, no token taken', () => {
    networks.get(F.VNI)!.multicast = { rate: 100 };
    const frame = udp4ToGroup('224.0.0.251');
    const { trace } = proc.processEgress(F.VNI, frame, true);
    expect(trace).toMatchObject({ stage: 'encapsulate', vteps: ALL, vtep: ALL[0], pieces: 1, payloadLen: frame.length + VXLAN_HEADER_LENGTH, replyLen: 0 });
    expect(trace!.drop).toBeUndefined();
    expect(counters().multicast).toEqual({ frames: 0, copies: 0, rx: 0 });
    for (let i = 0; i < 10; i++) expect(proc.processEgress(F.VNI, frame).drop).toBeUndefined(); // the whole burst is still there
    expect(proc.processEgress(F.VNI, frame, true).trace).toMatchObject({ stage: 'lookup', drop: 'multicast_rate', vteps: ALL });
  });

  it('ends at lookup for a membership report and for a group nobody wants (an empty list)', () => {
    expect(proc.processEgress(F.VNI, igmpJoin('239.1.2.3'), true).trace).toEqual({ stage: 'lookup', pieces: 0, payloadLen: 0, replyLen: 0 });
    expect(proc.processEgress(F.VNI, udp4ToGroup('239.1.2.3'), true).trace).toMatchObject({ stage: 'lookup', drop: 'multicast', vteps: [] });
  });
});

describe('multicast ingress', () => {
  const fromRemote = (dstMac: string, vni = F.VNI): Buffer => {
    const f = udp4ToGroup('239.1.2.3', { dstMac });
    parseMac(F.REMOTE_MAC).copy(f, 6);
    return encodeVxlan(vni, f);
  };

  it('delivers group frames from a VTEP of the network to the TAP, counted as mcast_rx on a multicast network only, never replicated', () => {
    const r = proc.processIngress(F.REMOTE_VTEP, fromRemote(groupMacText('239.1.2.3')));
    expect(r.drop).toBeUndefined();
    expect(r.vni).toBe(F.VNI);
    expect(proc.processIngress(F.REMOTE_VTEP, fromRemote(BROADCAST_MAC)).frame).toBeDefined();
    expect(proc.processIngress(F.REMOTE_VTEP, fromRemote(BROADCAST_MAC, PLAIN_VNI)).frame).toBeDefined();
    expect(proc.processIngress('198.18.0.77', fromRemote(BROADCAST_MAC)).drop).toBe('unknown_vtep');
    expect(counters()).toMatchObject({ rx: { packets: 3 }, multicast: { frames: 0, copies: 0, rx: 2 }, tx: { packets: 0 } });
  });
});

describe('networks without the multicast setting', () => {
  it('drop broadcast, multicast and membership reports exactly as before', () => {
    proc.groups.set(PLAIN_VNI, groupMacText('239.1.2.3'), [F.REMOTE_VTEP]); // kept, never used
    expect(proc.processEgress(PLAIN_VNI, udp4ToGroup('198.19.1.255', { dstMac: BROADCAST_MAC })).drop).toBe('broadcast');
    expect(proc.processEgress(PLAIN_VNI, udp4ToGroup('239.1.2.3')).drop).toBe('multicast');
    expect(proc.processEgress(PLAIN_VNI, udp6ToGroup('ff02::fb')).drop).toBe('multicast');
    const igmp = proc.processEgress(PLAIN_VNI, igmpJoin('239.1.2.3'));
    expect([igmp.drop, igmp.membership]).toEqual(['multicast', undefined]);
    expect(counters().multicast).toEqual({ frames: 0, copies: 0, rx: 0 });
  });
});

describe('GroupTable', () => {
  it('sets, replaces and deletes entries; VTEPs canonical, sorted, once each', () => {
    const t = new GroupTable();
    t.set(7, '01:00:5E:01:02:03', ['198.18.0.3', '198.18.0.2', '198.18.0.3']);
    expect(t.entries(7)).toEqual(new Map([['01:00:5e:01:02:03', ['198.18.0.2', '198.18.0.3']]]));
    t.set(7, '01:00:5e:01:02:03', ['2001:DB8::0:1']);
    t.set(7, '33:33:00:00:00:fb', ['198.18.0.9']);
    expect(t.entries(7)).toEqual(new Map([['01:00:5e:01:02:03', ['2001:db8::1']], ['33:33:00:00:00:fb', ['198.18.0.9']]]));
    t.set(7, '01:00:5e:01:02:03', []);
    t.set(7, '33:33:00:00:00:fb', []);
    expect(t.entries(7).size).toBe(0);
    expect(t.entries(8).size).toBe(0);
  });

  it('refuses a unicast MAC, a malformed MAC and a VTEP that is not an address, with clear errors', () => {
    const t = new GroupTable();
    expect(() => t.set(7, '02:42:c6:13:01:02', ['198.18.0.2'])).toThrow(/not a group MAC/);
    expect(() => t.set(7, '01:00:5e', ['198.18.0.2'])).toThrow();
    expect(() => t.set(7, '01:00:5e:01:02:03', ['host2'])).toThrow();
    expect(t.entries(7).size).toBe(0);
  });
});

/**
 * Multicast networks, native path against the TypeScript reference
 * (docs/multicast.md "Replication", MulticastSettings): the same tables,
 * group tables, keys and frames through NativeDatapath and
 * ReferenceProcessor must give the same copies (compared sorted by VTEP: the
 * order on the wire is unspecified), the same drops, membership verdicts and
 * traces, and the same counters — for broadcast, link-local v4/v6 groups,
 * groups with and without members, solicited-node, IGMP/MLD, fragments,
 * every length of each, thousands of generated frames sent to group MACs,
 * the storm control, an encrypted network and a network without the setting.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateNetworkKey, type KeyringState } from '../../src/crypto/index.js';
import { countersFromSlots, type EgressResult, type FrameProcessor, type IngressResult, type NetworkEncryption } from '../../src/dataplane/datapath.js';
import { EspPlanner } from '../../src/dataplane/esp-plan.js';
import { EspSaStore } from '../../src/dataplane/esp-store.js';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { ReferenceProcessor, type NetworkConfig } from '../../src/dataplane/process.js';
import { FdbTable, GroupTable, NeighbourTable } from '../../src/dataplane/tables.js';
import { encodeVxlan, parseMac } from '../../src/wire/index.js';
import * as F from '../../src/testkit/frames.js';
import { BROADCAST_MAC, groupMacText, igmpJoin, mldJoin, udp4ToGroup, udp6ToGroup } from '../../src/testkit/group-frames.js';
import { haveAddon } from './support.js';

const ready = haveAddon();

const LOCAL_VTEP = '198.18.0.1';
const THIRD_MAC = '02:42:c6:13:01:05';
const THIRD_VTEP = '2001:db8::4';
/** A VTEP only a group lists: no FDB entry, so no SA on the encrypted network. */
const GROUP_ONLY_VTEP = '198.18.0.77';
const MEMBER_GROUPS = ['239.1.2.3', 'ff05::1:3', '224.0.1.129'];

const MCAST = F.VNI;
const LIMITED = 4200;
const WITHOUT = 4300;
const ENCRYPTED = 4400;
const ENCRYPTION: NetworkEncryption = { carrier: 'ip', keySize: 16, esn: true };
const NETWORKS: { vni: number; config: NetworkConfig }[] = [
  { vni: MCAST, config: { mtu: F.MTU, multicast: { rate: 0 } } },
  { vni: LIMITED, config: { mtu: 1280, multicast: { rate: 1 } } },
  { vni: WITHOUT, config: { mtu: F.MTU } },
  { vni: ENCRYPTED, config: { mtu: 1416, encryption: ENCRYPTION, multicast: { rate: 0 } } },
];
const RING: KeyringState = { keys: [generateNetworkKey(9)], sendTag: 9 };
const sequenceStart = (sa: { vni: number; keyTag: number }): number => sa.vni + sa.keyTag;

interface Tables {
  fdbSet(vni: number, mac: string, vtep: string): void;
  neighSet(vni: number, ip: string, mac: string): void;
  groupSet(vni: number, mac: string, vteps: string[]): void;
  setKeys(vni: number, ring: KeyringState): void;
}

/** The same tables in both paths: three VTEPs (one IPv6) on every network, groups with members, keys. */
function fill(t: Tables): void {
  for (const { vni } of NETWORKS) {
    t.fdbSet(vni, F.REMOTE_MAC, F.REMOTE_VTEP);
    t.fdbSet(vni, F.OTHER_MAC, F.OTHER_VTEP);
    t.fdbSet(vni, THIRD_MAC, THIRD_VTEP);
    t.neighSet(vni, F.REMOTE_IP, F.REMOTE_MAC);
    t.neighSet(vni, F.REMOTE_IP6, F.REMOTE_MAC);
    t.groupSet(vni, groupMacText(MEMBER_GROUPS[0]), [F.OTHER_VTEP, GROUP_ONLY_VTEP]);
    t.groupSet(vni, groupMacText(MEMBER_GROUPS[1]), [THIRD_VTEP]);
    t.groupSet(vni, groupMacText(MEMBER_GROUPS[2]), [F.REMOTE_VTEP, THIRD_VTEP, F.OTHER_VTEP]);
  }
  t.setKeys(ENCRYPTED, RING);
}

function referencePath(): { proc: ReferenceProcessor; tables: Tables } {
  const fdb = new FdbTable();
  const neigh = new NeighbourTable();
  const groups = new GroupTable();
  const sas = new EspSaStore();
  const proc = new ReferenceProcessor(new Map(NETWORKS.map((n) => [n.vni, n.config])), fdb, neigh, { sas, groups });
  const planner = new EspPlanner(LOCAL_VTEP, sas, sequenceStart);
  planner.addNetwork(ENCRYPTED, ENCRYPTION);
  const tables: Tables = {
    fdbSet: (vni, mac, vtep) => {
      fdb.set(vni, mac, vtep);
      planner.fdbSet(vni, mac, vtep);
    },
    neighSet: (vni, ip, mac) => neigh.set(vni, ip, mac),
    groupSet: (vni, mac, vteps) => groups.set(vni, mac, vteps),
    setKeys: (vni, ring) => planner.setKeys(vni, ring),
  };
  return { proc, tables };
}

/** Copies sorted by VTEP (each VTEP's own pieces keep their order), everything else as it is. */
function egressView(r: EgressResult) {
  const out = r.out.map((o) => ({ vtep: o.vtep, flowHash: o.flowHash >>> 0, carrier: o.carrier, payload: o.payload.toString('hex') }));
  out.sort((a, b) => (a.vtep < b.vtep ? -1 : a.vtep > b.vtep ? 1 : 0));
  return { drop: r.drop, membership: r.membership, out, reply: r.reply.map((b) => b.toString('hex')), trace: r.trace };
}
const ingressView = (r: IngressResult) => ({ drop: r.drop, vni: r.vni, frame: r.frame?.toString('hex'), trace: r.trace });

/** The destination MACs generated frames are sent to: broadcast, groups with and without members, link-local, solicited-node. */
const GROUP_MACS = [BROADCAST_MAC, ...MEMBER_GROUPS.map(groupMacText), '01:00:5e:00:00:fb', '01:00:5e:7f:00:01', '33:33:00:00:00:01', '33:33:ff:13:01:03', '33:33:00:00:00:fb'];

const withDst = (frame: Buffer, mac: string): Buffer => {
  const f = Buffer.from(frame);
  if (f.length >= 6) parseMac(mac).copy(f, 0);
  return f;
};

/** Every rule's frame: broadcast, link-local, member and memberless groups, solicited-node, IGMP/MLD, big ones. */
function ruleFrames(): Buffer[] {
  const bcast = { dstMac: BROADCAST_MAC };
  return [
    udp4ToGroup('255.255.255.255', bcast),
    udp4ToGroup('198.19.1.255', bcast),
    udp4ToGroup('224.0.0.251'),
    udp4ToGroup('224.0.0.1', { dstMac: '01:00:5e:11:22:33' }),
    udp6ToGroup('ff02::fb'),
    udp6ToGroup('ff02::1:3'),
    ...MEMBER_GROUPS.map((g) => (g.includes(':') ? udp6ToGroup(g) : udp4ToGroup(g))),
    udp4ToGroup('239.9.9.9'),
    udp6ToGroup('ff05::9'),
    udp6ToGroup('ff02::1:ff13:103'),
    udp6ToGroup('ff02::1:ff13:103', bcast),
    igmpJoin('239.1.2.3', 2),
    igmpJoin('239.1.2.3', 3),
    mldJoin('ff05::1:3', 1),
    mldJoin('ff05::1:3', 2),
    mldJoin('ff05::1:3', 2, true),
    F.arpRequest(),
    F.neighborSolicitation(),
    F.ipv4Frame({ dstMac: BROADCAST_MAC, vlans: [{ tpid: 0x8100, tci: 7 }] }),
    udp4ToGroup('239.1.2.3', { size: 3000 }),
    udp4ToGroup('239.1.2.3', { size: 3000, df: true }),
    udp4ToGroup('224.0.0.251', { size: 1500 }),
    udp6ToGroup('ff02::fb', { size: 3000 }),
    F.ipv4Frame(),
  ];
}

describe.skipIf(!ready)('multicast networks: native and reference paths agree', () => {
  let native: NativeDatapath;
  let reference: ReferenceProcessor;

  beforeAll(() => {
    native = new NativeDatapath({ bindAddress: LOCAL_VTEP, dataPort: 4789, sequenceStart });
    for (const n of NETWORKS) native.addDetachedNetwork(n.vni, n.config.mtu, n.config.encryption, n.config.multicast);
    const ref = referencePath();
    reference = ref.proc;
    fill(native);
    fill(ref.tables);
  });

  const compareEgress = (vni: number, frame: Buffer, trace = false): ReturnType<typeof egressView> => {
    const [a, b] = [native, reference].map((p: FrameProcessor) => egressView(p.processEgress(vni, Buffer.from(frame), trace)));
    if (JSON.stringify(a) !== JSON.stringify(b)) expect({ vni, frame: frame.toString('hex'), native: a }).toEqual({ vni, frame: frame.toString('hex'), native: b });
    return b;
  };

  it('replicates every rule\'s frame alike, on the multicast, encrypted and plain networks', () => {
    for (const vni of [MCAST, WITHOUT, ENCRYPTED]) for (const f of ruleFrames()) compareEgress(vni, f);
    const bcast = compareEgress(MCAST, udp4ToGroup('255.255.255.255', { dstMac: BROADCAST_MAC }));
    expect(bcast.out.map((o) => o.vtep)).toEqual([F.REMOTE_VTEP, F.OTHER_VTEP, THIRD_VTEP].sort());
    const member = compareEgress(ENCRYPTED, udp4ToGroup(MEMBER_GROUPS[0]));
    expect(member).toMatchObject({ drop: 'no_sa', out: [{ vtep: F.OTHER_VTEP, carrier: 'ip' }] });
    expect(compareEgress(MCAST, igmpJoin('239.1.2.3')).membership).toBe(true);
    expect(compareEgress(WITHOUT, igmpJoin('239.1.2.3')).drop).toBe('multicast');
  });

  it('traces alike: the replication list, the first VTEP, the SA', () => {
    for (const vni of [MCAST, WITHOUT, ENCRYPTED]) for (const f of ruleFrames()) compareEgress(vni, f, true);
    expect(compareEgress(MCAST, udp4ToGroup(MEMBER_GROUPS[0]), true).trace).toMatchObject({ vteps: [F.OTHER_VTEP, GROUP_ONLY_VTEP], vtep: F.OTHER_VTEP, pieces: 1 });
    expect(compareEgress(ENCRYPTED, udp4ToGroup(MEMBER_GROUPS[0]), true).trace).toMatchObject({ stage: 'seal', vtep: F.OTHER_VTEP, sa: {} });
    // A list whose first VTEP has no SA: the trace stops there, no_sa at seal.
    native.groupSet(ENCRYPTED, groupMacText('239.7.7.7'), [GROUP_ONLY_VTEP, '198.18.0.99']);
    reference.groups.set(ENCRYPTED, groupMacText('239.7.7.7'), [GROUP_ONLY_VTEP, '198.18.0.99']);
    expect(compareEgress(ENCRYPTED, udp4ToGroup('239.7.7.7'), true).trace).toMatchObject({ stage: 'seal', drop: 'no_sa', vtep: GROUP_ONLY_VTEP });
    expect(compareEgress(ENCRYPTED, udp4ToGroup('239.7.7.7'))).toMatchObject({ drop: 'no_sa', out: [] });
  });

  it('on every length of each rule\'s frame', () => {
    for (const f of ruleFrames()) for (let n = 0; n <= Math.min(f.length, 200); n++) compareEgress(MCAST, f.subarray(0, n));
  });

  it('on 13,200 generated frames sent to group MACs, on the multicast and the encrypted network', () => {
    const frames = F.generateEgressFrames(1200, 21);
    for (const [i, f] of frames.entries()) {
      for (const mac of GROUP_MACS) compareEgress(MCAST, withDst(f, mac));
      compareEgress(ENCRYPTED, withDst(f, GROUP_MACS[i % GROUP_MACS.length]));
    }
  });

  it('on IP destinations and membership headers around every boundary of the rules, fixed and 12,000 random ones', () => {
    const v4 = ['224.0.0.0', '224.0.0.255', '224.0.1.0', '224.1.0.0', '225.0.0.0', '223.255.255.255', '255.255.255.255', '0.0.0.0'];
    const v6 = ['ff02::1:ff00:1', 'ff02::ff00:1', 'ff02::2:ff00:1', 'ff02::1:fe00:1', 'ff02:0:0:1::1:ff00:1', 'ff02:0:0:0:0:100:ff00:1', 'ff01::1', 'ff12::1', 'ff03::1:ff00:1', 'fe02::1', 'ff02::'];
    const macs = [BROADCAST_MAC, groupMacText(MEMBER_GROUPS[0]), '33:33:00:00:00:01'];
    for (const mac of macs) {
      for (const dst of v4) compareEgress(MCAST, udp4ToGroup(dst, { dstMac: mac }));
      for (const dst of v6) compareEgress(MCAST, udp6ToGroup(dst, { dstMac: mac }));
    }
    const random = F.prng(33);
    const byte = (): number => [0, 1, 2, 0xff, 0xfe, 0xe0, Math.floor(random() * 256)][Math.floor(random() * 7)];
    for (let i = 0; i < 3000; i++) {
      const f6 = udp6ToGroup('ff02::1', { dstMac: macs[i % 3] });
      for (let b = 0; b < 16; b++) f6[14 + 24 + b] = b < 2 ? [0xff, 0x02][b] : byte();
      if (i % 4 === 0) f6[14 + 25] = byte();
      compareEgress(MCAST, f6);
      const f4 = udp4ToGroup('224.0.0.1', { dstMac: macs[i % 3] });
      for (let b = 0; b < 4; b++) f4[14 + 16 + b] = b === 0 ? [224, 225, 239, byte()][i % 4] : byte();
      compareEgress(MCAST, f4);
      // Membership: hop-by-hop header's next header and length, the bytes where the ICMPv6 type may be, IPv4 protocol.
      const m6 = mldJoin('ff05::1:3', 2, i % 5 === 0);
      m6[14 + 6] = [0, 58, 0, 17, byte()][i % 5];
      m6[14 + 40] = [58, 58, 17, byte()][i % 4];
      m6[14 + 41] = byte() % 4;
      for (const at of [48, 56, 64, 72]) if (random() < 0.5) m6[14 + at] = [130, 131, 132, 143, 128, byte()][i % 6];
      compareEgress(MCAST, m6.subarray(0, 14 + 40 + Math.floor(random() * 60)));
      f4[14 + 9] = [2, 17, byte()][i % 3];
      compareEgress(MCAST, f4);
    }
  });

  it('lets the same burst through the storm control, the rest dropped multicast_rate', () => {
    const verdicts = Array.from({ length: 30 }, () => compareEgress(LIMITED, udp4ToGroup('224.0.0.251')).drop);
    expect(verdicts.filter((d) => d === undefined)).toHaveLength(10);
    expect(verdicts.filter((d) => d === 'multicast_rate')).toHaveLength(20);
    expect(compareEgress(LIMITED, udp4ToGroup('224.0.0.251'), true).trace).toMatchObject({ stage: 'lookup', drop: 'multicast_rate' });
  });

  it('admits group frames from other VTEPs alike, counted mcast_rx on multicast networks only', () => {
    const inner = withDst(F.ipv4Frame({ src: F.REMOTE_IP, dst: '239.1.2.3' }), groupMacText('239.1.2.3'));
    parseMac(F.REMOTE_MAC).copy(inner, 6);
    for (const vni of [MCAST, LIMITED, WITHOUT]) {
      for (const [src, payload] of [
        [F.REMOTE_VTEP, encodeVxlan(vni, inner)],
        [F.OTHER_VTEP, encodeVxlan(vni, inner)],
        [GROUP_ONLY_VTEP, encodeVxlan(vni, inner)],
      ] as const) {
        const [a, b] = [native, reference].map((p) => ingressView(p.processIngress(src, Buffer.from(payload))));
        expect(a).toEqual(b);
      }
    }
  });

  it('ends with the same counters', () => {
    const ref = countersFromSlots(reference.counters);
    expect(ref.multicast.frames).toBeGreaterThan(1000);
    expect(ref.multicast.rx).toBe(2);
    expect(ref.drops.multicast_rate).toBe(20);
    expect(native.counters()).toEqual(ref);
    const fdbVteps = new Set([F.REMOTE_VTEP, F.OTHER_VTEP, THIRD_VTEP]);
    const peers = (l: { vtep: string }[]) => l.filter((p) => fdbVteps.has(p.vtep)).sort((x, y) => (x.vtep < y.vtep ? -1 : 1));
    expect(peers(native.peerCounters())).toEqual(peers(reference.peerCounters()));
  });
});

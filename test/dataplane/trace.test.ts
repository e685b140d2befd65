/**
 * Traced frames (`overlayctl trace`, docs/debugging.md) on both paths: the
 * native path and the TypeScript reference, with the same tables and keys,
 * must give the same trace — stage that decided, drop reason, VTEP, flow
 * hash, pieces, lengths, SA — for the same frames, and a trace must leave
 * every counter, every outbound SA's sequence number and every replay
 * window where it was.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateNetworkKey, type KeyringState } from '../../src/crypto/index.js';
import type { EgressResult, FrameProcessor, IngressResult, NetworkEncryption, SaInfo } from '../../src/dataplane/datapath.js';
import { EspPlanner } from '../../src/dataplane/esp-plan.js';
import { EspSaStore } from '../../src/dataplane/esp-store.js';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { ReferenceProcessor, type NetworkConfig } from '../../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../../src/dataplane/tables.js';
import { haveAddon } from '../native/support.js';
import * as F from '../../src/testkit/frames.js';
import { encodeVxlan } from '../../src/wire/index.js';

const ready = haveAddon();

const SELF = '198.18.0.1';
const KEYED = 6000;
const UNKEYED = 6100;
const NETWORKS: { vni: number; mtu: number; encryption?: NetworkEncryption }[] = [
  { vni: F.VNI, mtu: F.MTU },
  { vni: 5000, mtu: 1280 },
  { vni: KEYED, mtu: 1416, encryption: { carrier: 'ip', keySize: 16, esn: true } },
  { vni: UNKEYED, mtu: 1416, encryption: { carrier: 'udp', keySize: 16, esn: true } },
];
const RING: KeyringState = { keys: [generateNetworkKey(1)], sendTag: 1 };
const sequenceStart = (sa: { vni: number }): number => sa.vni + 7;

interface Host {
  fdbSet(vni: number, mac: string, vtep: string): void;
  neighSet(vni: number, ip: string, mac: string): void;
}

function fill(h: Host): void {
  for (const { vni } of NETWORKS) {
    h.fdbSet(vni, F.REMOTE_MAC, F.REMOTE_VTEP);
    h.fdbSet(vni, F.OTHER_MAC, F.OTHER_VTEP);
    h.neighSet(vni, F.REMOTE_IP, F.REMOTE_MAC);
    h.neighSet(vni, F.REMOTE_IP6, F.REMOTE_MAC);
  }
}

const egressView = (r: EgressResult) => ({ drop: r.drop, trace: r.trace, out: r.out.length, reply: r.reply.length });
const ingressView = (r: IngressResult) => ({ drop: r.drop, vni: r.vni, trace: r.trace });

describe.skipIf(!ready)('trace: the same verdicts on both paths, nothing counted or consumed', () => {
  let native: NativeDatapath;
  let reference: ReferenceProcessor;
  let sas: EspSaStore;
  let paths: [FrameProcessor, FrameProcessor];
  const state = () => ({ native: native.counters(), sas: native.securityAssociations(), ref: [...reference.counters], refSas: sas.list() });

  beforeAll(() => {
    native = new NativeDatapath({ bindAddress: SELF, dataPort: 4789, sequenceStart });
    for (const n of NETWORKS) native.addDetachedNetwork(n.vni, n.mtu, n.encryption);
    sas = new EspSaStore();
    const networks = new Map<number, NetworkConfig>(NETWORKS.map((n) => [n.vni, { mtu: n.mtu, encryption: n.encryption }]));
    const fdb = new FdbTable();
    const neigh = new NeighbourTable();
    reference = new ReferenceProcessor(networks, fdb, neigh, { sas });
    const planner = new EspPlanner(SELF, sas, sequenceStart);
    for (const n of NETWORKS) if (n.encryption) planner.addNetwork(n.vni, n.encryption);
    fill(native);
    fill({
      fdbSet: (v, m, t) => {
        fdb.set(v, m, t);
        planner.fdbSet(v, m, t);
      },
      neighSet: (v, i, m) => neigh.set(v, i, m),
    });
    native.setKeys(KEYED, RING);
    planner.setKeys(KEYED, RING);
    paths = [native, reference];
  });

  const egress = (vni: number, frame: Buffer) => {
    const [a, b] = paths.map((p) => egressView(p.processEgress(vni, Buffer.from(frame), true)));
    expect({ frame: frame.toString('hex'), vni, native: a }).toEqual({ frame: frame.toString('hex'), vni, native: b });
    return a;
  };

  it('agree on 4,000 generated egress frames on plain and encrypted networks, and count none of them', () => {
    const before = state();
    for (const f of F.generateEgressFrames(1000, 11)) for (const { vni } of NETWORKS) egress(vni, f);
    egress(77, F.ipv4Frame());
    expect(state()).toEqual(before);
  });

  it('name the stage and the values of each verdict', () => {
    expect(egress(F.VNI, F.ipv4Frame()).trace).toMatchObject({ stage: 'encapsulate', vtep: F.REMOTE_VTEP, pieces: 1, payloadLen: 8 + 14 + 84 });
    expect(egress(F.VNI, F.ipv4Frame({ size: 4000 })).trace).toMatchObject({ stage: 'encapsulate', pieces: 3 });
    expect(egress(F.VNI, F.ipv4Frame({ size: 1500, df: true })).trace).toMatchObject({ stage: 'size', drop: 'too_big', vtep: F.REMOTE_VTEP, replyLen: 14 + 20 + 8 + 548 });
    expect(egress(F.VNI, F.ipv4Frame({ dstMac: '02:42:c6:13:01:63' })).trace).toMatchObject({ stage: 'lookup', drop: 'no_fdb' });
    expect(egress(F.VNI, F.arpRequest()).trace).toMatchObject({ stage: 'proxy', replyLen: 42 });
    expect(egress(F.VNI, F.arpRequest({ target: '198.19.1.99' })).trace).toMatchObject({ stage: 'proxy', drop: 'arp_unknown' });
    expect(egress(UNKEYED, F.ipv4Frame()).trace).toMatchObject({ stage: 'lookup', drop: 'no_sa', vtep: F.REMOTE_VTEP });
    expect(egress(77, F.ipv4Frame()).trace).toMatchObject({ stage: 'parse', drop: 'no_network' });
  });

  it('report the outbound SA and its next sequence number without sealing', () => {
    const out = (list: SaInfo[]) => list.find((s) => s.direction === 'out' && s.vni === KEYED && s.peer === F.REMOTE_VTEP)!;
    const sa = out(native.securityAssociations());
    const before = state();
    for (let i = 0; i < 3; i++) {
      const r = native.processEgress(KEYED, F.ipv4Frame(), true);
      expect(r.out).toEqual([]);
      expect(r.trace).toMatchObject({ stage: 'seal', vtep: F.REMOTE_VTEP, pieces: 1, sa: { spi: sa.spi, seq: sa.seq + 1 } });
      expect(egress(KEYED, F.ipv4Frame()).trace?.sa).toEqual({ spi: sa.spi, seq: KEYED + 7 + 1 });
    }
    expect(state()).toEqual(before);
    // Real traffic afterwards takes the number the trace reported: nothing was skipped.
    expect(native.processEgress(KEYED, F.ipv4Frame()).out).toHaveLength(1);
    expect(out(native.securityAssociations()).seq).toBe(sa.seq + 1);
  });

  it('agree on 2,000 generated ingress datagrams, counting none', () => {
    const before = state();
    for (const d of F.generateIngressDatagrams(2000, 12)) {
      const [a, b] = paths.map((p) => ingressView(p.processIngress(d.src, Buffer.from(d.payload), true)));
      expect({ d: d.payload.toString('hex'), src: d.src, native: a }).toEqual({ d: d.payload.toString('hex'), src: d.src, native: b });
    }
    const [fromStranger] = paths.map((p) => p.processIngress('198.18.0.99', F.vxlanFrom(), true).trace);
    expect(fromStranger).toMatchObject({ stage: 'admit', drop: 'unknown_vtep' });
    expect(native.processIngress(F.REMOTE_VTEP, F.vxlanFrom(), true)).toMatchObject({ vni: F.VNI, trace: { stage: 'admit' } });
    expect(state()).toEqual(before);
  });

  it('look an ESP packet\'s inbound SA up without opening it: the window stays', () => {
    const inbound = native.securityAssociations(KEYED).find((s) => s.direction === 'in' && s.peer === F.REMOTE_VTEP)!;
    const before = state();
    const payload = encodeVxlan(KEYED, F.vxlanFrom(F.REMOTE_MAC, KEYED).subarray(8));
    const cases: [string, number, Buffer][] = [
      [F.REMOTE_VTEP, inbound.spi, payload],
      [F.REMOTE_VTEP, (inbound.spi ^ 1) >>> 0, payload], // ^ gives a signed 32-bit number: an SPI ≥ 2^31 would turn negative
      ['198.18.0.99', inbound.spi, payload],
      [F.REMOTE_VTEP, inbound.spi, encodeVxlan(F.VNI, payload.subarray(8))],
    ];
    const views = cases.map(([src, spi, p]) => paths.map((path) => ingressView(path.traceEsp(src, spi, Buffer.from(p)))));
    for (const [a, b] of views) expect(a).toEqual(b);
    expect(views.map(([a]) => [a.trace?.stage, a.drop])).toEqual([
      ['admit', undefined],
      ['open', 'esp_bad_spi'],
      ['open', 'esp_bad_spi'],
      ['admit', 'esp_wrong_vni'],
    ]);
    expect(views[0][0].trace?.sa).toEqual({ spi: inbound.spi, seq: inbound.seq });
    expect(state()).toEqual(before);
  });
});

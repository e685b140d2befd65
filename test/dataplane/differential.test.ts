/**
 * The native path and the TypeScript reference path, fed the same frames
 * against the same tables, must produce the same bytes, the same flow
 * hashes, the same drop reasons and the same counters (docs/datapath.md).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/dataplane/addon.js';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { ReferenceProcessor } from '../../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../../src/dataplane/tables.js';
import { countersFromSlots, type EgressResult, FrameProcessor, IngressResult } from '../../src/dataplane/datapath.js';
import { requirement } from '../../src/testkit/ci.js';
import * as F from '../../src/testkit/frames.js';

let addonOk = false;
try {
  addonOk = loadAddon().supported;
} catch {
  addonOk = false;
}
const ready = requirement(addonOk, 'the native addon is not built or not supported here (npm run build:native)');

interface Tables {
  fdbSet(vni: number, mac: string, vtep: string): void;
  neighSet(vni: number, ip: string, mac: string): void;
}

/** The same tables in both paths: a second network with a smaller MTU, an IPv6 VTEP. */
function fill(t: Tables): void {
  for (const vni of [F.VNI, 5000]) {
    t.fdbSet(vni, F.REMOTE_MAC, F.REMOTE_VTEP);
    t.fdbSet(vni, F.OTHER_MAC, vni === F.VNI ? F.OTHER_VTEP : '2001:db8::3');
    t.neighSet(vni, F.REMOTE_IP, F.REMOTE_MAC);
    t.neighSet(vni, F.REMOTE_IP6, F.REMOTE_MAC);
    t.neighSet(vni, F.OTHER_IP, F.OTHER_MAC);
    t.neighSet(vni, F.LOCAL_IP6, F.LOCAL_MAC);
  }
}

const egressView = (r: EgressResult) => ({
  drop: r.drop,
  out: r.out.map((o) => ({ vtep: o.vtep, flowHash: o.flowHash >>> 0, payload: o.payload.toString('hex') })),
  reply: r.reply.map((b) => b.toString('hex')),
});
const ingressView = (r: IngressResult) => ({ drop: r.drop, vni: r.vni, frame: r.frame?.toString('hex') });

describe.skipIf(!ready)('native and reference paths agree', () => {
  let native: NativeDatapath;
  let reference: ReferenceProcessor;

  beforeAll(() => {
    native = new NativeDatapath({ bindAddress: '127.0.0.1', dataPort: 4789 });
    native.addDetachedNetwork(F.VNI, F.MTU);
    native.addDetachedNetwork(5000, 1280);
    const fdb = new FdbTable();
    const neigh = new NeighbourTable();
    reference = new ReferenceProcessor(
      new Map([
        [F.VNI, { mtu: F.MTU }],
        [5000, { mtu: 1280 }],
      ]),
      fdb,
      neigh,
    );
    fill(native);
    fill({ fdbSet: (v, m, t) => fdb.set(v, m, t), neighSet: (v, i, m) => neigh.set(v, i, m) });
  });

  const compareEgress = (paths: FrameProcessor[], vni: number, frame: Buffer) => {
    const [a, b] = paths.map((p) => egressView(p.processEgress(vni, Buffer.from(frame))));
    if (JSON.stringify(a) !== JSON.stringify(b)) expect({ frame: frame.toString('hex'), native: a }).toEqual({ frame: frame.toString('hex'), native: b });
  };

  it('on 20,000 generated egress frames, on two networks', () => {
    const frames = F.generateEgressFrames(10_000, 7);
    for (const f of frames) {
      compareEgress([native, reference], F.VNI, f);
      compareEgress([native, reference], 5000, f);
    }
    compareEgress([native, reference], 77, frames[0]);
  });

  it('on 10,000 generated ingress datagrams', () => {
    for (const d of F.generateIngressDatagrams(10_000, 8)) {
      const [a, b] = [native, reference].map((p) => ingressView(p.processIngress(d.src, Buffer.from(d.payload))));
      if (JSON.stringify(a) !== JSON.stringify(b)) expect({ d: d.payload.toString('hex'), src: d.src, native: a }).toEqual({ d: d.payload.toString('hex'), src: d.src, native: b });
    }
  });

  it('on every frame length from 0 to 1600 of each kind, and on edge sizes around the MTU', () => {
    const kinds = [F.arpRequest(), F.neighborSolicitation(), F.ipv4Frame({ size: 1600 }), F.ipv4Frame({ size: 1600, df: true }), F.ipv6Frame({ size: 1600 })];
    for (const k of kinds) for (let n = 0; n <= k.length; n++) compareEgress([native, reference], F.VNI, k.subarray(0, n));
    for (const size of [1435, 1436, 1449, 1450, 1451, 1452, 1466, 1480, 1500, 3000, 8000, 9000]) {
      for (const df of [false, true]) compareEgress([native, reference], F.VNI, F.ipv4Frame({ size, df, vlans: size % 2 ? [{ tpid: 0x8100, tci: 3 }] : undefined }));
      compareEgress([native, reference], F.VNI, F.ipv6Frame({ size }));
    }
  });

  it('ends with the same counters', () => {
    const ref = countersFromSlots(reference.counters);
    expect(ref.tx.packets).toBeGreaterThan(1000);
    expect(native.counters()).toEqual(ref);
  });
});

/**
 * Encrypted networks, native path against the TypeScript reference
 * (docs/datapath.md "Encrypted networks"): two hosts, each once as a
 * NativeDatapath and once as a ReferenceProcessor fed by its own EspPlanner,
 * with the same keys and starting sequence numbers. Egress must give the
 * same ESP bytes, flow hashes, carriers and drops; the other host's
 * processEsp of those packets — and of damaged ones — the same frames and
 * drop reasons; and both ends the same counters and SA listings.
 */
import { sealPlaintext, udpAround } from '../../src/testkit/esp.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateNetworkKey, sealEsp, type KeyringState } from '../../src/crypto/index.js';
import {
  countersFromSlots,
  type EgressResult,
  type FrameProcessor,
  type IngressResult,
  type NetworkEncryption,
  type SaInfo,
} from '../../src/dataplane/datapath.js';
import { EspPlanner } from '../../src/dataplane/esp-plan.js';
import { EspSaStore } from '../../src/dataplane/esp-store.js';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { ReferenceProcessor, type NetworkConfig } from '../../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../../src/dataplane/tables.js';
import { encodeVxlan } from '../../src/wire/index.js';
import { haveAddon } from './support.js';
import * as F from '../../src/testkit/frames.js';

const ready = haveAddon();

const LOCAL_VTEP = '198.18.0.1';
const DATA_PORT = 4790;
/** Three encrypted networks (both carriers, ESN on and off, both key sizes) and one plain. */
const NETWORKS: { vni: number; mtu: number; encryption?: NetworkEncryption }[] = [
  { vni: F.VNI, mtu: F.MTU, encryption: { carrier: 'ip', keySize: 16, esn: true } },
  { vni: 5000, mtu: 1408, encryption: { carrier: 'udp', keySize: 32, esn: false } },
  { vni: 6000, mtu: 1416, encryption: { carrier: 'ip', keySize: 16, esn: true } }, // never keyed: no_sa
  { vni: 7000, mtu: F.MTU },
];
const KEYED = [F.VNI, 5000];
const [K1, K2] = [generateNetworkKey(1), generateNetworkKey(2)];
const RING1: KeyringState = { keys: [K1], sendTag: 1 };
const RING2: KeyringState = { keys: [K1, K2], sendTag: 2 };
/** Last sequence number each outbound SA is assumed to have used (the agent's checkpoints). */
const sequenceStart = (sa: { vni: number; keyTag: number }): number => sa.vni + 40 * sa.keyTag;

/** One host as the reference: processor, FDB, planner. */
function referenceHost(self: string) {
  const networks = new Map<number, NetworkConfig>(NETWORKS.map((n) => [n.vni, { mtu: n.mtu, encryption: n.encryption }]));
  const fdb = new FdbTable();
  const sas = new EspSaStore();
  const proc = new ReferenceProcessor(networks, fdb, new NeighbourTable(), { dataPort: DATA_PORT, sas });
  const planner = new EspPlanner(self, sas, sequenceStart);
  for (const n of NETWORKS) if (n.encryption) planner.addNetwork(n.vni, n.encryption);
  return {
    proc,
    sas,
    fdbSet: (vni: number, mac: string, vtep: string) => {
      fdb.set(vni, mac, vtep);
      planner.fdbSet(vni, mac, vtep);
    },
    neighSet: () => undefined,
    setKeys: (vni: number, ring: KeyringState) => planner.setKeys(vni, ring),
  };
}

function nativeHost(self: string): NativeDatapath {
  const dp = new NativeDatapath({ bindAddress: self, dataPort: DATA_PORT, sequenceStart });
  for (const n of NETWORKS) dp.addDetachedNetwork(n.vni, n.mtu, n.encryption);
  return dp;
}

interface Host {
  fdbSet(vni: number, mac: string, vtep: string): void;
  setKeys(vni: number, ring: KeyringState): void;
}

/** Local sends to REMOTE/OTHER; remote knows LOCAL_MAC behind LOCAL_VTEP. */
function fillLocal(h: Host): void {
  for (const n of NETWORKS) {
    h.fdbSet(n.vni, F.REMOTE_MAC, F.REMOTE_VTEP);
    h.fdbSet(n.vni, F.OTHER_MAC, F.OTHER_VTEP);
  }
}
function fillRemote(h: Host): void {
  for (const n of NETWORKS) h.fdbSet(n.vni, F.LOCAL_MAC, LOCAL_VTEP);
}

const egressView = (r: EgressResult) => ({
  drop: r.drop,
  out: r.out.map((o) => ({ vtep: o.vtep, flowHash: o.flowHash >>> 0, carrier: o.carrier, payload: o.payload.toString('hex') })),
  reply: r.reply.map((b) => b.toString('hex')),
});
const ingressView = (r: IngressResult) => ({ drop: r.drop, vni: r.vni, frame: r.frame?.toString('hex') });
const sortedSas = (l: SaInfo[]) =>
  l.map((s) => ({ ...s })).sort((a, b) => `${a.direction}/${a.vni}/${a.peer}/${a.spi}`.localeCompare(`${b.direction}/${b.vni}/${b.peer}/${b.spi}`));

/** The protected UDP header to this test's data port around `vxlan`. */
const udp = (vxlan: Buffer, o: { length?: number; dport?: number } = {}): Buffer => udpAround(vxlan, { dport: DATA_PORT, ...o });

describe.skipIf(!ready)('encrypted networks: native and reference paths agree', () => {
  let nLocal: NativeDatapath;
  let nRemote: NativeDatapath;
  let rLocal: ReturnType<typeof referenceHost>;
  let rRemote: ReturnType<typeof referenceHost>;
  /** ESP packets local sent to REMOTE_VTEP, in order. */
  const sent: Buffer[] = [];

  beforeAll(() => {
    nLocal = nativeHost(LOCAL_VTEP);
    nRemote = nativeHost(F.REMOTE_VTEP);
    rLocal = referenceHost(LOCAL_VTEP);
    rRemote = referenceHost(F.REMOTE_VTEP);
    fillLocal(nLocal);
    fillLocal(rLocal);
    fillRemote(nRemote);
    fillRemote(rRemote);
  });

  const egress = (vni: number, frame: Buffer): EgressResult => {
    const [a, b] = [nLocal, rLocal.proc].map((p: FrameProcessor) => p.processEgress(vni, Buffer.from(frame)));
    const [va, vb] = [egressView(a), egressView(b)];
    if (JSON.stringify(va) !== JSON.stringify(vb)) expect({ frame: frame.toString('hex'), native: va }).toEqual({ frame: frame.toString('hex'), native: vb });
    return b;
  };
  const esp = (src: string, packet: Buffer): IngressResult => {
    const [a, b] = [nRemote.processEsp(src, Buffer.from(packet)), rRemote.proc.processEsp(src, Buffer.from(packet))];
    expect({ packet: packet.subarray(0, 24).toString('hex'), native: ingressView(a) }).toEqual({ packet: packet.subarray(0, 24).toString('hex'), native: ingressView(b) });
    return b;
  };
  const ingress = (src: string, payload: Buffer): IngressResult => {
    const [a, b] = [nRemote.processIngress(src, Buffer.from(payload)), rRemote.proc.processIngress(src, Buffer.from(payload))];
    expect(ingressView(a)).toEqual(ingressView(b));
    return b;
  };

  it('fails closed before any key: no_sa on every encrypted network, plain VXLAN on the plain one', () => {
    const frame = F.ipv4Frame();
    for (const vni of [F.VNI, 5000, 6000]) expect(egress(vni, frame).drop).toBe('no_sa');
    const plain = egress(7000, frame);
    expect(plain.out).toHaveLength(1);
    expect(plain.out[0].carrier).toBeUndefined();
    expect(nLocal.securityAssociations()).toEqual([]);
  });

  it('holds the same SAs once keyed, with the planned starting sequence numbers', () => {
    for (const vni of KEYED) {
      for (const h of [nLocal, rLocal, nRemote, rRemote]) h.setKeys(vni, RING1);
    }
    expect(sortedSas(nLocal.securityAssociations())).toEqual(sortedSas(rLocal.sas.list()));
    expect(sortedSas(nRemote.securityAssociations())).toEqual(sortedSas(rRemote.sas.list()));
    const out = nLocal.securityAssociations(F.VNI).filter((s) => s.direction === 'out');
    expect(out.map((s) => s.seq)).toEqual([F.VNI + 40, F.VNI + 40]);
    expect(() => nLocal.setKeys(7000, RING1)).toThrow(expect.objectContaining({ code: 'NOT_ENCRYPTED' }));
  });

  it('seals 8,000 generated frames to the same ESP bytes on both carriers, and the peer opens them alike', () => {
    const frames = F.generateEgressFrames(4000, 11);
    for (const f of frames) {
      for (const vni of [F.VNI, 5000, 6000]) {
        for (const o of egress(vni, f).out) if (o.vtep === F.REMOTE_VTEP) sent.push(o.payload);
      }
    }
    expect(sent.length).toBeGreaterThan(500);
    let delivered = 0;
    for (const p of sent) if (esp(LOCAL_VTEP, p).frame !== undefined) delivered++;
    expect(delivered).toBeGreaterThan(100);
  });

  it('refuses every replay of those packets the same way', () => {
    for (const p of sent.slice(-300)) expect(esp(LOCAL_VTEP, p).drop).toBe('esp_replay');
  });

  it('drops damaged ESP for the same reasons', () => {
    const fresh = egress(F.VNI, F.ipv4Frame({ size: 200 })).out[0];
    expect(fresh.vtep).toBe(F.REMOTE_VTEP);
    const p = fresh.payload; // not delivered yet: damage is seen before the window refuses it
    const flip = (at: number): Buffer => {
      const b = Buffer.from(p);
      b[at < 0 ? b.length + at : at] ^= 0x10;
      return b;
    };
    const cases: [Buffer, string][] = [
      [Buffer.alloc(0), 'esp_truncated'],
      [p.subarray(0, 3), 'esp_truncated'],
      [Buffer.from([0xff]), 'esp_truncated'], // RFC 3948 NAT keepalive
      [p.subarray(0, 20), 'esp_truncated'],
      [Buffer.concat([Buffer.alloc(4), p.subarray(4)]), 'esp_bad_spi'], // SPI 0
      [flip(0), 'esp_bad_spi'],
      [flip(-1), 'esp_bad_icv'],
      [flip(20), 'esp_bad_icv'],
    ];
    for (const [packet, reason] of cases) expect(esp(LOCAL_VTEP, packet).drop).toBe(reason);
    expect(esp(F.OTHER_VTEP, p).drop).toBe('esp_bad_spi');
    expect(esp('not an address', p).drop).toBe('esp_bad_spi');
    expect(esp(`::ffff:${LOCAL_VTEP}`, p).vni).toBe(F.VNI); // the window never moved for the forgeries
  });

  it('checks the inner UDP header, the VNI under the SA, the window edges and the padding alike', () => {
    const sa = rLocal.sas.findOutbound(F.VNI, F.REMOTE_VTEP)!;
    const seal = (payload: Buffer, nextHeader = 17): Buffer => sealEsp(sa.planned.sa, ++sa.lastSeq, payload, nextHeader);
    const good = encodeVxlan(F.VNI, F.ipv4Frame({ dstMac: F.REMOTE_MAC, size: 120 }));
    const cases: [Buffer, string | undefined][] = [
      [seal(udp(good), 4), 'malformed'],
      [seal(Buffer.alloc(7)), 'malformed'],
      [seal(udp(good, { length: 9 })), 'malformed'],
      [seal(udp(good, { dport: 4789 })), 'malformed'],
      [seal(udp(good.subarray(0, 20))), 'malformed'],
      [seal(udp(encodeVxlan(5000, F.ipv4Frame()))), 'esp_wrong_vni'],
      [seal(udp(Buffer.concat([Buffer.alloc(1), good.subarray(1)]))), 'bad_vxlan'],
      [sealPlaintext(sa.planned.sa, ++sa.lastSeq, Buffer.concat([udp(good), Buffer.from([9, 9, 9, 3, 17])])), 'esp_bad_padding'],
    ];
    for (const [packet, reason] of cases) expect(esp(LOCAL_VTEP, packet).drop).toBe(reason);
    // Far ahead moves the window; the old numbers are then too old, a skipped recent one still fine.
    sa.lastSeq += 100_000;
    esp(LOCAL_VTEP, seal(udp(good)));
    expect(esp(LOCAL_VTEP, sealEsp(sa.planned.sa, 50, udp(good))).drop).toBe('esp_too_old');
    esp(LOCAL_VTEP, sealEsp(sa.planned.sa, sa.lastSeq - 5, udp(good)));
    // Plain VXLAN for an encrypted VNI, on the data port.
    expect(ingress(LOCAL_VTEP, F.vxlanFrom(F.LOCAL_MAC, F.VNI)).drop).toBe('plaintext_on_encrypted');
    expect(ingress(LOCAL_VTEP, F.vxlanFrom(F.LOCAL_MAC, 7000)).drop).not.toBe('plaintext_on_encrypted');
  });

  it('rotates keys in the same order and keeps sealing alike under the new key', () => {
    for (const vni of KEYED) for (const h of [nLocal, rLocal, nRemote, rRemote]) h.setKeys(vni, RING2);
    expect(sortedSas(nLocal.securityAssociations())).toEqual(sortedSas(rLocal.sas.list()));
    for (const f of F.generateEgressFrames(500, 12)) {
      for (const o of egress(F.VNI, f).out) if (o.vtep === F.REMOTE_VTEP) esp(LOCAL_VTEP, o.payload);
    }
    for (const vni of KEYED) for (const h of [nLocal, rLocal, nRemote, rRemote]) h.setKeys(vni, { keys: [K2], sendTag: 2 });
    expect(sortedSas(nRemote.securityAssociations())).toEqual(sortedSas(rRemote.sas.list()));
    expect(nRemote.securityAssociations().every((s) => s.keyTag === 2)).toBe(true);
  });

  it('ends with the same counters and SA sequence numbers on both hosts', () => {
    const local = countersFromSlots(rLocal.proc.counters);
    const remote = countersFromSlots(rRemote.proc.counters);
    expect(local.drops.no_sa).toBeGreaterThan(0);
    expect(remote.rx.packets).toBeGreaterThan(100);
    expect(nLocal.counters()).toEqual(local);
    expect(nRemote.counters()).toEqual(remote);
    expect(sortedSas(nLocal.securityAssociations())).toEqual(sortedSas(rLocal.sas.list()));
    expect(sortedSas(nRemote.securityAssociations())).toEqual(sortedSas(rRemote.sas.list()));
  });
});

describe.skipIf(!ready)('an outbound SA running out of sequence numbers', () => {
  it('seals up to 2^32 − 1 without ESN, then drops no_sa — also between fragments — on both paths alike', () => {
    const enc: NetworkEncryption = { carrier: 'udp', keySize: 16, esn: false };
    const start = () => 0xffffffff - 2;
    const native = new NativeDatapath({ bindAddress: LOCAL_VTEP, dataPort: DATA_PORT, sequenceStart: start });
    native.addDetachedNetwork(F.VNI, F.MTU, enc);
    const fdb = new FdbTable();
    const sas = new EspSaStore();
    const ref = new ReferenceProcessor(new Map([[F.VNI, { mtu: F.MTU, encryption: enc }]]), fdb, new NeighbourTable(), { dataPort: DATA_PORT, sas });
    const planner = new EspPlanner(LOCAL_VTEP, sas, start);
    planner.addNetwork(F.VNI, enc);
    native.fdbSet(F.VNI, F.REMOTE_MAC, F.REMOTE_VTEP);
    fdb.set(F.VNI, F.REMOTE_MAC, F.REMOTE_VTEP);
    planner.fdbSet(F.VNI, F.REMOTE_MAC, F.REMOTE_VTEP);
    native.setKeys(F.VNI, RING1);
    planner.setKeys(F.VNI, RING1);
    const frames = [F.ipv4Frame({ size: 4000 }), F.ipv4Frame(), F.ipv4Frame()];
    const views = [native, ref].map((p) => frames.map((f) => egressView(p.processEgress(F.VNI, Buffer.from(f)))));
    expect(views[0]).toEqual(views[1]);
    expect(views[0].map((v) => [v.drop, v.out.length])).toEqual([['no_sa', 2], ['no_sa', 0], ['no_sa', 0]]);
    expect(native.counters()).toEqual(countersFromSlots(ref.counters));
    expect(native.securityAssociations().find((s) => s.direction === 'out')?.seq).toBe(0xffffffff);
  });
});

/**
 * VTEP probes in both data paths, side by side (docs/datapath.md "VTEP
 * probes", "Per-VTEP counters"): a probe from a VTEP of the network is
 * admitted without the source-MAC check and marked for the agent, whatever
 * its body; the other admission checks still hold; sending a probe makes the
 * checks a frame to that VTEP meets, in the same order with the same drops;
 * and the per-VTEP counters move alike. The native path is not started here,
 * so its valid send ends in udp_send after encapsulation was counted.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { ReferenceProcessor } from '../../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../../src/dataplane/tables.js';
import type { IngressResult, NetworkEncryption } from '../../src/dataplane/datapath.js';
import { haveAddon } from '../native/support.js';
import * as F from '../../src/testkit/frames.js';
import { encodeProbe, encodeVxlan, parseMac } from '../../src/wire/index.js';

const ready = haveAddon();
const ENCRYPTED = 5001;
const ENC: NetworkEncryption = { carrier: 'udp', keySize: 16, esn: true };
const probe = (size = 64) => encodeProbe({ kind: 'request', seq: 7, sentNs: 99n, wallMs: 1000, size });
const view = (r: IngressResult) => ({ drop: r.drop, vni: r.vni, probe: r.probe, frame: r.frame?.toString('hex') });

describe.skipIf(!ready)('VTEP probes: native and reference paths agree', () => {
  let native: NativeDatapath;
  let reference: ReferenceProcessor;

  beforeAll(() => {
    native = new NativeDatapath({ bindAddress: '127.0.0.1', dataPort: 4789 });
    native.addDetachedNetwork(F.VNI, F.MTU);
    native.addDetachedNetwork(ENCRYPTED, 1400, ENC);
    const fdb = new FdbTable();
    reference = new ReferenceProcessor(new Map([[F.VNI, { mtu: F.MTU }], [ENCRYPTED, { mtu: 1400, encryption: ENC }]]), fdb, new NeighbourTable());
    for (const vni of [F.VNI, ENCRYPTED]) {
      native.fdbSet(vni, F.REMOTE_MAC, F.REMOTE_VTEP);
      fdb.set(vni, F.REMOTE_MAC, F.REMOTE_VTEP);
    }
  });

  const ingress = (src: string, payload: Buffer) => [native.processIngress(src, payload), reference.processIngress(src, payload)].map(view);

  it('admits a probe from a VTEP of the network for the agent, without the source-MAC check, whatever its body', () => {
    const garbage = Buffer.concat([probe().subarray(0, 14), Buffer.from('not a probe body')]);
    for (const frame of [probe(), probe(F.MTU + 14), garbage]) {
      const [n, r] = ingress(F.REMOTE_VTEP, encodeVxlan(F.VNI, frame));
      expect(n).toEqual({ drop: undefined, vni: F.VNI, probe: true, frame: frame.toString('hex') });
      expect(r).toEqual(n);
    }
  });

  it('keeps the other admission checks for probes', () => {
    const cases: [string, Buffer, string][] = [
      ['198.18.0.77', encodeVxlan(F.VNI, probe()), 'unknown_vtep'],
      [F.REMOTE_VTEP, encodeVxlan(4242, probe()), 'unknown_vni'],
      [F.REMOTE_VTEP, encodeVxlan(ENCRYPTED, probe()), 'plaintext_on_encrypted'],
    ];
    for (const [src, payload, reason] of cases) {
      const [n, r] = ingress(src, payload);
      expect(n.drop).toBe(reason);
      expect(r).toEqual(n);
    }
  });

  it('does not treat a frame of the probe ethertype to another MAC as a probe (spoofed_src as any frame)', () => {
    const frame = probe();
    parseMac(F.LOCAL_MAC).copy(frame, 0);
    const [n, r] = ingress(F.REMOTE_VTEP, encodeVxlan(F.VNI, frame));
    expect(n.drop).toBe('spoofed_src');
    expect(r).toEqual(n);
  });

  it('sends a probe through the checks a frame to that VTEP meets, with the same drops', () => {
    const cases: [number, string, Buffer, string][] = [
      [4242, F.REMOTE_VTEP, probe(), 'no_network'],
      [F.VNI, '198.18.0.77', probe(), 'unknown_vtep'],
      [ENCRYPTED, F.REMOTE_VTEP, probe(), 'no_sa'], // no keys yet: nothing in plaintext
      [F.VNI, F.REMOTE_VTEP, probe(F.MTU + 15), 'too_big'],
    ];
    for (const [vni, vtep, frame, reason] of cases) {
      expect(native.sendProbe(vni, vtep, frame)).toBe(reason);
      expect(reference.processProbe(vni, vtep, frame).drop).toBe(reason);
    }
    const frame = probe(F.MTU + 14);
    const r = reference.processProbe(F.VNI, F.REMOTE_VTEP, frame);
    expect(r.drop).toBeUndefined();
    expect(r.out.map((o) => [o.vtep, o.payload.toString('hex')])).toEqual([[F.REMOTE_VTEP, encodeVxlan(F.VNI, frame).toString('hex')]]);
    expect(native.sendProbe(F.VNI, F.REMOTE_VTEP, frame)).toBe('udp_send'); // encapsulated and counted; stopped, so not sent
  });

  it('counts per VTEP alike: what was sent to it and admitted from it', () => {
    const sort = <T extends { vtep: string }>(rows: T[]) => [...rows].sort((a, b) => a.vtep.localeCompare(b.vtep));
    const n = sort(native.peerCounters());
    expect(n).toEqual(sort(reference.peerCounters()));
    const row = n.find((p) => p.vtep === F.REMOTE_VTEP)!;
    expect(row.txPackets).toBe(1);
    expect(row.txBytes).toBe(8 + F.MTU + 14);
    expect(row.rxPackets).toBe(3);
    native.fdbDelete(F.VNI, F.REMOTE_MAC);
    native.fdbDelete(ENCRYPTED, F.REMOTE_MAC);
    expect(native.peerCounters()).toEqual([]); // no longer a VTEP of any network: its row goes
  });
});

/**
 * The encrypted rules of docs/datapath.md ("Encrypted networks") on the
 * ReferenceProcessor: two hosts, each with its EspPlanner feeding its
 * EspSaStore, exchanging what processEgress makes through processEsp.
 */
import { sealPlaintext, udpAround } from '../../src/testkit/esp.js';
import { describe, expect, it } from 'vitest';
import {
  deriveSa,
  generateNetworkKey,
  openEsp,
  ReplayWindow,
  sealEsp,
  type KeyringState,
  type NetworkKey,
  type SecurityAssociation,
} from '../../src/crypto/index.js';
import { countersFromSlots, type NetworkEncryption, type SaIdentity } from '../../src/dataplane/datapath.js';
import { EspPlanner } from '../../src/dataplane/esp-plan.js';
import { EspSaStore } from '../../src/dataplane/esp-store.js';
import { flowHash } from '../../src/dataplane/flow-hash.js';
import { ReferenceProcessor, type NetworkConfig } from '../../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../../src/dataplane/tables.js';
import { encodeVxlan, parseIp } from '../../src/wire/index.js';
import * as F from '../../src/testkit/frames.js';

const LOCAL_VTEP = '198.18.0.1';
const DATA_PORT = 4790;
const ENC: NetworkEncryption = { carrier: 'ip', keySize: 16, esn: true };
const [K1, K2] = [generateNetworkKey(1), generateNetworkKey(2)];
const ring = (sendTag: number, ...keys: NetworkKey[]): KeyringState => ({ keys, sendTag });

/** One host of the encrypted network F.VNI: its processor, planner and SA store. */
function host(self: string, peer: string, peerMac: string, enc = ENC, sequenceStart?: (sa: SaIdentity) => number) {
  const networks = new Map<number, NetworkConfig>([[F.VNI, { mtu: F.MTU, encryption: enc }]]);
  const fdb = new FdbTable();
  const sas = new EspSaStore();
  const proc = new ReferenceProcessor(networks, fdb, new NeighbourTable(), { dataPort: DATA_PORT, sas });
  const planner = new EspPlanner(self, sas, sequenceStart);
  planner.addNetwork(F.VNI, enc);
  const fdbSet = (mac: string, vtep: string): void => {
    fdb.set(F.VNI, mac, vtep);
    planner.fdbSet(F.VNI, mac, vtep);
  };
  fdbSet(peerMac, peer);
  return { proc, planner, sas, fdb, fdbSet, networks, counters: () => countersFromSlots(proc.counters) };
}

/** Host "local" (sends F.ipv4Frame) and host "remote" (F.REMOTE_VTEP), optionally keyed. */
function pair(keys?: KeyringState, enc = ENC) {
  const local = host(LOCAL_VTEP, F.REMOTE_VTEP, F.REMOTE_MAC, enc);
  const remote = host(F.REMOTE_VTEP, LOCAL_VTEP, F.LOCAL_MAC, enc);
  if (keys) {
    local.planner.setKeys(F.VNI, keys);
    remote.planner.setKeys(F.VNI, keys);
  }
  return { local, remote };
}

/** The SA local uses toward remote under `key`, as both derive it. */
const saOut = (key: NetworkKey): SecurityAssociation => deriveSa({ key, src: parseIp(LOCAL_VTEP), dst: parseIp(F.REMOTE_VTEP) });

/** The protected UDP header to this test's data port around `vxlan`. */
const udp = (vxlan: Buffer, o: { sport?: number; length?: number; dport?: number } = {}): Buffer => udpAround(vxlan, { dport: DATA_PORT, ...o });

describe('encrypted egress', () => {
  it('fails closed before keys: no_sa, nothing sent, nothing counted as sent', () => {
    const { local } = pair();
    const r = local.proc.processEgress(F.VNI, F.ipv4Frame());
    expect(r.drop).toBe('no_sa');
    expect(r.out).toEqual([]);
    expect(local.counters().tx).toEqual({ packets: 0, bytes: 0 });
    expect(local.counters().drops.no_sa).toBe(1);
  });

  it('leaves a plain network of the same host plain: VXLAN payload, no carrier', () => {
    const { local } = pair(ring(1, K1));
    local.networks.set(F.VNI + 1, { mtu: F.MTU });
    local.fdb.set(F.VNI + 1, F.REMOTE_MAC, F.REMOTE_VTEP);
    const frame = F.ipv4Frame();
    const [out] = local.proc.processEgress(F.VNI + 1, frame).out;
    expect(out.carrier).toBeUndefined();
    expect(out.payload.equals(encodeVxlan(F.VNI + 1, frame))).toBe(true);
  });

  it('seals UDP (sport 49152 + flowHash mod 16384, dport data port, checksum 0) + VXLAN + frame under the peer SA', () => {
    const local = host(LOCAL_VTEP, F.REMOTE_VTEP, F.REMOTE_MAC, ENC, () => 41);
    local.planner.setKeys(F.VNI, ring(1, K1));
    const frame = F.ipv4Frame({ srcPort: 40001 });
    const r = local.proc.processEgress(F.VNI, frame);
    expect(r.drop).toBeUndefined();
    expect(r.out).toHaveLength(1);
    const out = r.out[0];
    expect(out.carrier).toBe('ip');
    expect(out.vtep).toBe(F.REMOTE_VTEP);
    const hash = flowHash(frame, 14, 0x0800);
    expect(out.flowHash).toBe(hash);
    const opened = openEsp(saOut(K1), new ReplayWindow(), out.payload);
    if (typeof opened === 'string') throw new Error(opened);
    expect(opened.seq).toBe(42); // sequenceStart 41: the first packet carries 42
    expect(opened.nextHeader).toBe(17);
    expect(opened.payload.equals(udp(encodeVxlan(F.VNI, frame), { sport: 49152 + (hash % 16384) }))).toBe(true);
    expect(sealEsp(saOut(K1), 42, opened.payload).equals(out.payload)).toBe(true);
    expect(local.counters().tx).toEqual({ packets: 1, bytes: 8 + frame.length });
    expect(local.sas.list(F.VNI).find((s) => s.direction === 'out')?.seq).toBe(42);
  });

  it('stops at the last sequence number of the SA (2^32 − 1 without ESN): no_sa, never a reused nonce', () => {
    const enc = { ...ENC, esn: false };
    const local = host(LOCAL_VTEP, F.REMOTE_VTEP, F.REMOTE_MAC, enc, () => 0xffffffff - 1);
    local.planner.setKeys(F.VNI, ring(1, K1));
    expect(local.proc.processEgress(F.VNI, F.ipv4Frame()).out).toHaveLength(1);
    expect(local.proc.processEgress(F.VNI, F.ipv4Frame()).drop).toBe('no_sa');
    expect(local.counters().tx.packets).toBe(1);
  });

  it('fragments as the plain path does, each fragment its own ESP packet with the next sequence number', () => {
    const { local, remote } = pair(ring(1, K1), { ...ENC, carrier: 'udp' });
    const r = local.proc.processEgress(F.VNI, F.ipv4Frame({ size: F.MTU + 400 }));
    expect(r.out.length).toBe(2);
    expect(local.counters().fragments).toBe(2);
    const window = new ReplayWindow();
    r.out.forEach((o, i) => {
      expect(o.carrier).toBe('udp');
      const opened = openEsp(saOut(K1), window, o.payload);
      expect(typeof opened === 'string' ? opened : opened.seq).toBe(i + 1);
      const got = remote.proc.processEsp(LOCAL_VTEP, o.payload);
      expect(got.drop).toBeUndefined();
      expect(got.vni).toBe(F.VNI);
    });
    expect(remote.counters().rx.packets).toBe(2);
  });
});

describe('encrypted ingress', () => {
  it('delivers the frame a peer sealed, counting rx as plain VXLAN', () => {
    const { local, remote } = pair(ring(1, K1));
    const frame = F.ipv4Frame();
    const [out] = local.proc.processEgress(F.VNI, frame).out;
    const r = remote.proc.processEsp(LOCAL_VTEP, out.payload);
    expect(r.drop).toBeUndefined();
    expect(r.vni).toBe(F.VNI);
    expect(r.frame?.equals(frame)).toBe(true);
    expect(remote.counters().rx).toEqual({ packets: 1, bytes: frame.length });
    expect(remote.sas.list(F.VNI).filter((s) => s.direction === 'in').map((s) => s.seq)).toEqual([1]);
    // the IPv4-mapped form of the source is the same peer
    const [again] = local.proc.processEgress(F.VNI, frame).out;
    expect(remote.proc.processEsp(`::ffff:${LOCAL_VTEP}`, again.payload).drop).toBeUndefined();
  });

  it('refuses plaintext VXLAN for an encrypted VNI on the data port, before and after keys', () => {
    const { remote } = pair();
    expect(remote.proc.processIngress(LOCAL_VTEP, F.vxlanFrom(F.LOCAL_MAC)).drop).toBe('plaintext_on_encrypted');
    remote.planner.setKeys(F.VNI, ring(1, K1));
    expect(remote.proc.processIngress(LOCAL_VTEP, F.vxlanFrom(F.LOCAL_MAC)).drop).toBe('plaintext_on_encrypted');
    // the checks before it keep their order
    expect(remote.proc.processIngress(LOCAL_VTEP, F.vxlanFrom(F.LOCAL_MAC, F.VNI + 1)).drop).toBe('unknown_vni');
    expect(remote.counters().drops.plaintext_on_encrypted).toBe(2);
  });

  it('drops with every ESP reason, in the specified order, counting each', () => {
    const { remote } = pair(ring(1, K1));
    const sa = saOut(K1);
    const good = (seq: number, vxlan = F.vxlanFrom(F.LOCAL_MAC)): Buffer => sealEsp(sa, seq, udp(vxlan));
    const esp = (p: Buffer, src = LOCAL_VTEP) => remote.proc.processEsp(src, p).drop;

    expect(esp(Buffer.from([1, 2, 3]))).toBe('esp_truncated');
    expect(esp(good(1).subarray(0, 20))).toBe('esp_truncated'); // known SPI, shorter than an ESP packet
    const unknownSpi = good(1);
    unknownSpi.writeUInt32BE((sa.spi ^ 1) >>> 0, 0);
    expect(esp(unknownSpi)).toBe('esp_bad_spi');
    expect(esp(good(1), F.OTHER_VTEP)).toBe('esp_bad_spi'); // right SPI, wrong sender
    expect(esp(good(1), 'not an address')).toBe('esp_bad_spi');
    const forged = good(2);
    forged[30] ^= 0x01;
    expect(esp(forged)).toBe('esp_bad_icv');
    expect(esp(good(2))).toBeUndefined(); // the forgery did not move the window
    expect(esp(good(2))).toBe('esp_replay');
    expect(esp(good(6000))).toBeUndefined();
    expect(esp(good(3))).toBe('esp_too_old');
    const plain = Buffer.concat([udp(F.vxlanFrom(F.LOCAL_MAC)).subarray(0, 28), Buffer.from([9, 9, 2, 17])]);
    expect(esp(sealPlaintext(sa, 6001, plain))).toBe('esp_bad_padding');

    const c = remote.counters().drops;
    expect([c.esp_truncated, c.esp_bad_spi, c.esp_bad_icv, c.esp_replay, c.esp_too_old, c.esp_bad_padding]).toEqual([2, 3, 1, 1, 1, 1]);
    expect(remote.counters().rx.packets).toBe(2);
  });

  it('drops as malformed what is not the VXLAN UDP datagram to the data port', () => {
    const { remote } = pair(ring(1, K1));
    const sa = saOut(K1);
    const vxlan = F.vxlanFrom(F.LOCAL_MAC);
    const esp = (p: Buffer) => remote.proc.processEsp(LOCAL_VTEP, p).drop;
    expect(esp(sealEsp(sa, 1, udp(vxlan), 4))).toBe('malformed'); // next header not UDP
    expect(esp(sealEsp(sa, 2, Buffer.alloc(7)))).toBe('malformed'); // shorter than a UDP header
    expect(esp(sealEsp(sa, 3, udp(vxlan, { length: 8 + vxlan.length + 1 })))).toBe('malformed');
    expect(esp(sealEsp(sa, 4, udp(vxlan, { dport: 4789 })))).toBe('malformed');
    expect(esp(sealEsp(sa, 5, udp(vxlan.subarray(0, 21))))).toBe('malformed'); // < VXLAN + Ethernet
    const badFlags = Buffer.from(vxlan);
    badFlags[0] = 0;
    expect(esp(sealEsp(sa, 6, udp(badFlags)))).toBe('bad_vxlan');
    expect(remote.counters().drops.malformed).toBe(5);
    expect(remote.counters().rx.packets).toBe(0);
  });

  it('drops esp_wrong_vni for a VNI other than the SA network, even one this host has', () => {
    const { remote } = pair(ring(1, K1));
    remote.networks.set(F.VNI + 1, { mtu: F.MTU, encryption: ENC });
    remote.fdb.set(F.VNI + 1, F.LOCAL_MAC, LOCAL_VTEP);
    const r = remote.proc.processEsp(LOCAL_VTEP, sealEsp(saOut(K1), 1, udp(F.vxlanFrom(F.LOCAL_MAC, F.VNI + 1))));
    expect(r.drop).toBe('esp_wrong_vni');
    expect(r.frame).toBeUndefined();
  });

  it('drops spoofed_src for an inner source MAC of another VTEP', () => {
    const { remote } = pair(ring(1, K1));
    remote.fdbSet(F.OTHER_MAC, F.OTHER_VTEP);
    const r = remote.proc.processEsp(LOCAL_VTEP, sealEsp(saOut(K1), 1, udp(F.vxlanFrom(F.OTHER_MAC))));
    expect(r.drop).toBe('spoofed_src');
  });
});

describe('rotation through the EspPlanner', () => {
  it('accepts the new key before the sender switches, and the old key while it stays in the ring', () => {
    const { local, remote } = pair(ring(1, K1));
    const frame = F.ipv4Frame();
    const send = () => local.proc.processEgress(F.VNI, frame).out[0].payload;
    const beforeSwitch = send(); // sealed under K1, delivered late

    // Step 1 everywhere: K2 joins the rings, still sending under K1.
    remote.planner.setKeys(F.VNI, ring(1, K1, K2));
    local.planner.setKeys(F.VNI, ring(1, K1, K2));
    // Step 2: local switches first; remote already accepts K2.
    local.planner.setKeys(F.VNI, ring(2, K1, K2));
    const underK2 = send();
    expect(underK2.readUInt32BE(0)).toBe(saOut(K2).spi);
    expect(remote.proc.processEsp(LOCAL_VTEP, underK2).frame?.equals(frame)).toBe(true);
    expect(remote.proc.processEsp(LOCAL_VTEP, beforeSwitch).frame?.equals(frame)).toBe(true);
    expect(local.sas.list(F.VNI).filter((s) => s.direction === 'out').map((s) => [s.keyTag, s.seq])).toEqual([[2, 1]]);

    // Step 3: K1 leaves the ring; what was sealed under it is no longer accepted.
    const lateUnderK1 = sealEsp(saOut(K1), 2, udp(encodeVxlan(F.VNI, frame)));
    remote.planner.setKeys(F.VNI, ring(2, K2));
    expect(remote.proc.processEsp(LOCAL_VTEP, lateUnderK1).drop).toBe('esp_bad_spi');
    expect(remote.proc.processEsp(LOCAL_VTEP, send()).drop).toBeUndefined();
  });
});

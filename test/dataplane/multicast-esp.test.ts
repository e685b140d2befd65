/**
 * Replication on an encrypted multicast network (MulticastSettings,
 * src/dataplane/multicast/settings.ts): each copy sealed under the outbound
 * SA of its own VTEP, opened by that peer's ReferenceProcessor and by no
 * other, and a VTEP without an SA skipped (`no_sa`) while the others still
 * get theirs. Every host has its EspPlanner, as the JsDatapath has.
 */
import { describe, expect, it } from 'vitest';
import { generateNetworkKey, type KeyringState } from '../../src/crypto/index.js';
import { countersFromSlots, type NetworkEncryption } from '../../src/dataplane/datapath.js';
import { EspPlanner } from '../../src/dataplane/esp-plan.js';
import { EspSaStore } from '../../src/dataplane/esp-store.js';
import { ReferenceProcessor, type NetworkConfig } from '../../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../../src/dataplane/tables.js';
import * as F from '../../src/testkit/frames.js';
import { groupMacText, udp4ToGroup } from '../../src/testkit/group-frames.js';

const LOCAL_VTEP = '198.18.0.1';
const DATA_PORT = 4790;
const ENC: NetworkEncryption = { carrier: 'udp', keySize: 16, esn: true };
const RING: KeyringState = { keys: [generateNetworkKey(1)], sendTag: 1 };
/** The remote hosts: VTEP → the MAC of their endpoint. */
const PEERS = new Map([
  [F.REMOTE_VTEP, F.REMOTE_MAC],
  [F.OTHER_VTEP, F.OTHER_MAC],
]);
/** In the group table but in no FDB entry: the planner derives no SA for it. */
const KEYLESS_VTEP = '198.18.0.9';

/** One host of the encrypted multicast network F.VNI knowing `members` (VTEP → MAC), keyed with RING. */
function host(self: string, members: Map<string, string>) {
  const networks = new Map<number, NetworkConfig>([[F.VNI, { mtu: F.MTU, encryption: ENC, multicast: { rate: 0 } }]]);
  const fdb = new FdbTable();
  const sas = new EspSaStore();
  const proc = new ReferenceProcessor(networks, fdb, new NeighbourTable(), { dataPort: DATA_PORT, sas });
  const planner = new EspPlanner(self, sas);
  planner.addNetwork(F.VNI, ENC);
  for (const [vtep, mac] of members) {
    fdb.set(F.VNI, mac, vtep);
    planner.fdbSet(F.VNI, mac, vtep);
  }
  planner.setKeys(F.VNI, RING);
  return { proc, counters: () => countersFromSlots(proc.counters) };
}

const local = () => host(LOCAL_VTEP, PEERS);
const remote = (vtep: string) => host(vtep, new Map([[LOCAL_VTEP, F.LOCAL_MAC]]));

describe('encrypted multicast egress', () => {
  it('seals each copy under its VTEP’s SA: every peer opens its own copy to the frame sent, and no other', () => {
    const sender = local();
    const frame = udp4ToGroup('224.0.0.251');
    const r = sender.proc.processEgress(F.VNI, frame);
    expect(r.drop).toBeUndefined();
    expect(r.out.map((o) => o.vtep).sort()).toEqual([...PEERS.keys()].sort());
    for (const out of r.out) {
      expect(out.carrier).toBe('udp');
      expect(out.payload.includes(frame.subarray(14, 40))).toBe(false); // no plaintext of the frame on the wire
      for (const vtep of PEERS.keys()) {
        const got = remote(vtep).proc.processEsp(LOCAL_VTEP, out.payload);
        if (vtep === out.vtep) expect(got.frame).toEqual(frame);
        else expect(got.drop).toBe('esp_bad_spi');
      }
    }
    expect(sender.counters()).toMatchObject({ multicast: { frames: 1, copies: 2 }, tx: { packets: 2 }, drops: { no_sa: 0 } });
  });

  it('skips a VTEP without an SA (no_sa, the frame’s verdict) and still sends the others their copies', () => {
    const sender = local();
    sender.proc.groups.set(F.VNI, groupMacText('239.1.2.3'), [F.REMOTE_VTEP, KEYLESS_VTEP, F.OTHER_VTEP]);
    const frame = udp4ToGroup('239.1.2.3');
    const r = sender.proc.processEgress(F.VNI, frame);
    expect(r.drop).toBe('no_sa');
    expect(r.out.map((o) => o.vtep).sort()).toEqual([F.REMOTE_VTEP, F.OTHER_VTEP]);
    for (const out of r.out) expect(remote(out.vtep).proc.processEsp(LOCAL_VTEP, out.payload).frame).toEqual(frame);
    expect(sender.counters()).toMatchObject({ multicast: { frames: 1, copies: 2 }, tx: { packets: 2 }, drops: { no_sa: 1 } });
  });

  it('counts a replicated frame received and opened as mcast_rx', () => {
    const [out] = local().proc.processEgress(F.VNI, udp4ToGroup('224.0.0.251')).out;
    const receiver = remote(out.vtep);
    expect(receiver.proc.processEsp(LOCAL_VTEP, out.payload).drop).toBeUndefined();
    expect(receiver.counters()).toMatchObject({ rx: { packets: 1 }, multicast: { rx: 1, copies: 0 } });
  });
});

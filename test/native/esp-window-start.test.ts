/**
 * A receiver that restarts resumes its replay windows from checkpoints
 * (DatapathOptions.windowStart): numbers up to the checkpointed top are
 * refused as replays, newer ones — in any order — pass, once. Native and
 * reference give the same verdicts.
 */
import { describe, expect, it } from 'vitest';
import { generateNetworkKey, sealEsp, type KeyringState } from '../../src/crypto/index.js';
import type { NetworkEncryption } from '../../src/dataplane/datapath.js';
import { EspPlanner } from '../../src/dataplane/esp-plan.js';
import { EspSaStore } from '../../src/dataplane/esp-store.js';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { ReferenceProcessor } from '../../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../../src/dataplane/tables.js';
import { encodeVxlan, parseMac } from '../../src/wire/index.js';
import { udpAround } from '../../src/testkit/esp.js';
import { haveAddon } from './support.js';

const [LOCAL, REMOTE] = ['198.18.0.1', '198.18.0.2'];
const [LOCAL_MAC, REMOTE_MAC] = ['02:00:00:00:00:01', '02:00:00:00:00:02'];
const VNI = 300;
const ENC: NetworkEncryption = { carrier: 'ip', keySize: 16, esn: true };
const RING: KeyringState = { keys: [generateNetworkKey(9)], sendTag: 9 };
const CHECKPOINT = 1000;

describe.skipIf(!haveAddon())('replay windows resumed from a checkpoint', () => {
  it('refuses what the receiver had accepted before its restart, accepts what is newer, alike on both paths', () => {
    const windowStart = (): number => CHECKPOINT;
    const native = new NativeDatapath({ bindAddress: REMOTE, dataPort: 4789, windowStart });
    native.addDetachedNetwork(VNI, 1400, ENC);
    native.fdbSet(VNI, LOCAL_MAC, LOCAL);
    native.setKeys(VNI, RING);
    const fdb = new FdbTable();
    const sas = new EspSaStore();
    const reference = new ReferenceProcessor(new Map([[VNI, { mtu: 1400, encryption: ENC }]]), fdb, new NeighbourTable(), { sas });
    const planner = new EspPlanner(REMOTE, sas, undefined, windowStart);
    planner.addNetwork(VNI, ENC);
    fdb.set(VNI, LOCAL_MAC, LOCAL);
    planner.fdbSet(VNI, LOCAL_MAC, LOCAL);
    planner.setKeys(VNI, RING);

    const senderSas = new EspSaStore();
    const sender = new EspPlanner(LOCAL, senderSas);
    sender.addNetwork(VNI, ENC);
    sender.fdbSet(VNI, REMOTE_MAC, REMOTE);
    sender.setKeys(VNI, RING);
    const sa = senderSas.findOutbound(VNI, REMOTE)!.planned.sa;
    const packet = (seq: number): Buffer => {
      const frame = Buffer.concat([parseMac(REMOTE_MAC), parseMac(LOCAL_MAC), Buffer.from([0x08, 0x00]), Buffer.alloc(40, seq % 256)]);
      return sealEsp(sa, seq, udpAround(encodeVxlan(VNI, frame), { dport: 4789 }));
    };
    const verdicts: string[] = [];
    for (const seq of [5, 999, 1000, 1001, 1003, 1002, 1001, 1040]) {
      const p = packet(seq);
      const a = native.processEsp(LOCAL, Buffer.from(p));
      const b = reference.processEsp(LOCAL, Buffer.from(p));
      expect(a.drop ?? 'delivered', `seq ${seq}`).toBe(b.drop ?? 'delivered');
      verdicts.push(`${seq}:${b.drop ?? 'delivered'}`);
    }
    expect(verdicts).toEqual(['5:esp_replay', '999:esp_replay', '1000:esp_replay', '1001:delivered', '1003:delivered', '1002:delivered', '1001:esp_replay', '1040:delivered']);
    expect(native.securityAssociations().find((s) => s.direction === 'in')?.seq).toBe(1040);
  });
});

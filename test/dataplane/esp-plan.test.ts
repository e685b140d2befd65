import { describe, expect, it } from 'vitest';
import { deriveSa, generateNetworkKey, type KeyringState } from '../../src/crypto/index.js';
import { EspPlanner, type PlannedSa, type SaSink } from '../../src/dataplane/esp-plan.js';
import { parseIp } from '../../src/wire/index.js';

const LOCAL = '198.18.0.1';
const PEER = '198.18.0.2';
const OTHER = '198.18.0.3';
const ENC = { carrier: 'ip' as const, keySize: 16 as const, esn: true };

/** A sink that logs every change in order and holds the resulting SA sets. */
function recorder() {
  const log: string[] = [];
  const inbound = new Map<string, PlannedSa>();
  const outbound = new Map<string, { e: PlannedSa; lastUsed: number }>();
  const sink: SaSink = {
    inboundAdd: (e) => {
      log.push(`in+ ${e.peer} ${e.keyTag}`);
      inbound.set(`${e.peer}/${e.spi}`, e);
    },
    inboundDelete: (e) => {
      log.push(`in- ${e.peer} ${e.keyTag}`);
      inbound.delete(`${e.peer}/${e.spi}`);
    },
    outboundSet: (e, lastUsed) => {
      log.push(`out ${e.peer} ${e.keyTag}`);
      outbound.set(`${e.vni}/${e.peer}`, { e, lastUsed });
    },
    outboundDelete: (vni, peer) => {
      log.push(`out- ${peer}`);
      outbound.delete(`${vni}/${peer}`);
    },
  };
  return { log, inbound, outbound, sink };
}

describe('EspPlanner: which SAs a host holds', () => {
  const [k1, k2, k3] = [generateNetworkKey(1), generateNetworkKey(2), generateNetworkKey(3)];
  const ring = (sendTag: number, ...keys: typeof k1[]): KeyringState => ({ keys, sendTag });

  it('holds nothing before keys and peers; then one outbound per peer under the sending key and inbound under every key', () => {
    const r = recorder();
    const p = new EspPlanner(LOCAL, r.sink, (id) => (id.keyTag === 1 ? 41 : 0));
    p.addNetwork(4096, ENC);
    p.fdbSet(4096, '02:00:00:00:00:02', PEER);
    expect(r.log).toEqual([]); // no keys: nothing may be sent (the path drops as no_sa)
    p.setKeys(4096, ring(1, k1, k2));
    expect(r.log).toEqual([`in+ ${PEER} 1`, `in+ ${PEER} 2`, `out ${PEER} 1`]);
    const out = r.outbound.get(`4096/${PEER}`)!;
    expect(out.lastUsed).toBe(41);
    // The SAs are the derivation of docs/encryption.md: both ends compute the same ones.
    const expected = deriveSa({ key: k1, src: parseIp(LOCAL), dst: parseIp(PEER) });
    expect(out.e.sa.spi).toBe(expected.spi);
    expect(out.e.sa.key.equals(expected.key)).toBe(true);
    const theirs = deriveSa({ key: k2, src: parseIp(PEER), dst: parseIp(LOCAL) });
    expect(r.inbound.get(`${PEER}/${theirs.spi}`)?.keyTag).toBe(2);
  });

  it('a rotation installs the new key for receive before switching the sender, and drops the oldest last', () => {
    const r = recorder();
    const p = new EspPlanner(LOCAL, r.sink);
    p.addNetwork(7, ENC);
    p.fdbSet(7, '02:00:00:00:00:02', PEER);
    p.setKeys(7, ring(1, k1, k2));
    r.log.length = 0;
    p.setKeys(7, ring(2, k2, k3));
    expect(r.log).toEqual([`in+ ${PEER} 3`, `out ${PEER} 2`, `in- ${PEER} 1`]);
  });

  it('follows the FDB: a VTEP gets SAs with its first MAC and loses them with its last', () => {
    const r = recorder();
    const p = new EspPlanner(LOCAL, r.sink);
    p.addNetwork(7, ENC);
    p.setKeys(7, ring(1, k1));
    p.fdbSet(7, '02:00:00:00:00:02', PEER);
    p.fdbSet(7, '02:00:00:00:00:12', PEER);
    expect(r.inbound.size).toBe(1);
    p.fdbDelete(7, '02:00:00:00:00:02');
    expect(r.outbound.size).toBe(1);
    p.fdbSet(7, '02:00:00:00:00:12', OTHER); // the MAC moved hosts
    expect([...r.outbound.values()].map((o) => o.e.peer)).toEqual([OTHER]);
    expect([...r.inbound.values()].map((e) => e.peer)).toEqual([OTHER]);
    p.removeNetwork(7);
    expect(r.inbound.size + r.outbound.size).toBe(0);
  });

  it('ignores plain networks, refuses keys for them, and needs a real local address', () => {
    const r = recorder();
    const p = new EspPlanner(LOCAL, r.sink);
    p.fdbSet(9, '02:00:00:00:00:02', PEER);
    expect(r.log).toEqual([]);
    expect(() => p.setKeys(9, ring(1, k1))).toThrow(expect.objectContaining({ code: 'NOT_ENCRYPTED' }));
    expect(() => new EspPlanner('0.0.0.0', r.sink).addNetwork(1, ENC)).toThrow(expect.objectContaining({ code: 'NO_VTEP_ADDRESS' }));
  });

  it('32-bit networks get SAs without ESN', () => {
    const r = recorder();
    const p = new EspPlanner(LOCAL, r.sink);
    p.addNetwork(5, { ...ENC, esn: false, keySize: 32 });
    p.fdbSet(5, '02:00:00:00:00:02', PEER);
    p.setKeys(5, ring(1, k1));
    const out = r.outbound.get(`5/${PEER}`)!.e.sa;
    expect(out.esn).toBe(false);
    expect(out.keySize).toBe(32);
  });
});

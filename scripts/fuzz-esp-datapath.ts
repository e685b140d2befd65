/**
 * Fuzzer for ESP ingress of the whole data path, differentially: every input
 * goes to the native path's processEsp (C: SA lookup, esp_open, replay
 * window, inner UDP and VXLAN checks) and to the TypeScript reference's, on
 * two hosts holding the same SAs. Inputs are packets a peer really sealed
 * (both carriers' networks: ESN with AES-128 and 32-bit with AES-256, a
 * VXLAN of another network under a valid SA, an inner UDP port that is not
 * the data port) and mutations of them
 * (scripts/fuzz-esp.ts's: bit flips, truncations, splices, rewritten SPI,
 * sequence and IV, replays).
 *
 * Rules checked on every input: neither path throws; both give the same
 * verdict — the same drop reason, or the same VNI and frame bytes; a frame
 * is delivered only for a packet that was sealed.
 *
 *   npx tsx scripts/fuzz-esp-datapath.ts [iterations=1000000] [--seed N]
 *
 * Exits 1 on any failure. test/native/fuzz-esp-datapath.test.ts runs a share.
 */
import { generateNetworkKey, sealEsp, type KeyringState } from '../src/crypto/index.js';
import type { IngressResult, NetworkEncryption } from '../src/dataplane/datapath.js';
import { EspPlanner } from '../src/dataplane/esp-plan.js';
import { EspSaStore } from '../src/dataplane/esp-store.js';
import { NativeDatapath } from '../src/dataplane/native.js';
import { ReferenceProcessor, type NetworkConfig } from '../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../src/dataplane/tables.js';
import { encodeVxlan, parseMac } from '../src/wire/index.js';
import { below, isMain, keepFirst, makeRng, randomBytes, runFuzzCli, tally, type Rng } from './fuzz/driver.js';
import { mutate } from './fuzz-esp.js';
import { udpAround } from '../src/testkit/esp.js';

const LOCAL = '198.18.0.1';
const REMOTE = '198.18.0.2';
const LOCAL_MAC = '02:00:00:00:00:01';
const REMOTE_MAC = '02:00:00:00:00:02';
const DATA_PORT = 4789;
const NETWORKS: { vni: number; encryption: NetworkEncryption }[] = [
  { vni: 100, encryption: { carrier: 'ip', keySize: 16, esn: true } },
  { vni: 200, encryption: { carrier: 'udp', keySize: 32, esn: false } },
];
const RING: KeyringState = { keys: [generateNetworkKey(1), generateNetworkKey(2)], sendTag: 1 };

/** What a run found. */
export interface EspDatapathFuzzReport {
  seed: number;
  inputs: number;
  /** Verdicts (the same on both paths when there is no failure): `delivered` or a drop reason. */
  outcomes: Partial<Record<string, number>>;
  failures: { problem: string; inputHex: string }[];
}

/** The receiving host, once native and once reference, holding the same SAs. */
function receivers(): { native: NativeDatapath; reference: ReferenceProcessor } {
  const native = new NativeDatapath({ bindAddress: REMOTE, dataPort: DATA_PORT });
  const networks = new Map<number, NetworkConfig>(NETWORKS.map((n) => [n.vni, { mtu: 1400, encryption: n.encryption }]));
  const fdb = new FdbTable();
  const sas = new EspSaStore();
  const reference = new ReferenceProcessor(networks, fdb, new NeighbourTable(), { dataPort: DATA_PORT, sas });
  const planner = new EspPlanner(REMOTE, sas);
  for (const n of NETWORKS) {
    native.addDetachedNetwork(n.vni, 1400, n.encryption);
    native.fdbSet(n.vni, LOCAL_MAC, LOCAL);
    native.setKeys(n.vni, RING);
    planner.addNetwork(n.vni, n.encryption);
    fdb.set(n.vni, LOCAL_MAC, LOCAL);
    planner.fdbSet(n.vni, LOCAL_MAC, LOCAL);
    planner.setKeys(n.vni, RING);
  }
  return { native, reference };
}

/** The sending host's outbound SAs toward REMOTE. */
function sender(): EspSaStore {
  const sas = new EspSaStore();
  const planner = new EspPlanner(LOCAL, sas);
  for (const n of NETWORKS) {
    planner.addNetwork(n.vni, n.encryption);
    planner.fdbSet(n.vni, REMOTE_MAC, REMOTE);
    planner.setKeys(n.vni, RING);
  }
  return sas;
}

/**
 * A packet the sender seals for network `vni`, carrying VXLAN of `innerVni`
 * (≠ vni: esp_wrong_vni) to UDP port `dport` (≠ the data port: malformed).
 */
function sealFrame(rng: Rng, sas: EspSaStore, vni: number, innerVni: number, dport: number): Buffer {
  const out = sas.findOutbound(vni, REMOTE)!;
  const frame = Buffer.concat([parseMac(REMOTE_MAC), parseMac(LOCAL_MAC), Buffer.from([0x08, 0x00]), randomBytes(rng, 20 + below(rng, 200))]);
  const udp = udpAround(encodeVxlan(innerVni, frame), { sport: 49152 + below(rng, 16384), dport });
  return sealEsp(out.planned.sa, ++out.lastSeq, udp);
}

const verdict = (r: IngressResult): string => (r.drop !== undefined ? r.drop : `delivered ${r.vni} ${r.frame?.toString('hex')}`);

/** Runs the fuzzer for `iterations` inputs. */
export function fuzzEspDatapath(opts: { iterations: number; seed: number }): EspDatapathFuzzReport {
  const rng = makeRng(opts.seed);
  const report: EspDatapathFuzzReport = { seed: opts.seed, inputs: 0, outcomes: {}, failures: [] };
  const { native, reference } = receivers();
  const sas = sender();
  const sealed = new Set<string>();
  const seeds: Buffer[] = [];
  const fresh = (): Buffer => {
    const n = NETWORKS[below(rng, NETWORKS.length)];
    const inner = below(rng, 16) === 0 ? NETWORKS.find((m) => m !== n)!.vni : n.vni;
    const p = sealFrame(rng, sas, n.vni, inner, below(rng, 16) === 0 ? DATA_PORT + 1 : DATA_PORT);
    sealed.add(p.toString('hex'));
    return p;
  };
  for (let i = 0; i < 32; i++) seeds.push(fresh());
  for (let i = 0; i < opts.iterations; i++) {
    // Now and then a freshly sealed packet, so authentic input keeps reaching delivery.
    if (below(rng, 8) === 0) seeds[below(rng, seeds.length)] = fresh();
    const base = seeds[below(rng, seeds.length)];
    const input = below(rng, 4) === 0 ? Buffer.from(base) : mutate(rng, base, seeds[below(rng, seeds.length)]);
    report.inputs++;
    const fail = (problem: string): void => keepFirst(report.failures, { problem, inputHex: input.toString('hex') }, 20);
    let a: IngressResult;
    let b: IngressResult;
    try {
      a = native.processEsp(LOCAL, Buffer.from(input));
    } catch (e) {
      fail(`native processEsp threw ${String(e)}`);
      continue;
    }
    try {
      b = reference.processEsp(LOCAL, Buffer.from(input));
    } catch (e) {
      fail(`reference processEsp threw ${String(e)}`);
      continue;
    }
    const [va, vb] = [verdict(a), verdict(b)];
    if (va !== vb) fail(`native ${va.slice(0, 40)} ≠ reference ${vb.slice(0, 40)}`);
    if (b.drop === undefined && !sealed.has(input.toString('hex'))) fail('a frame was delivered from a packet nobody sealed');
    tally(report.outcomes, b.drop ?? 'delivered');
  }
  return report;
}

/** A readable summary of a report. */
export function formatReport(r: EspDatapathFuzzReport): string {
  const lines = [`seed ${r.seed}: ${r.inputs} inputs, ${r.failures.length} failures`];
  lines.push(`verdicts: ${Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const f of r.failures) lines.push(`FAIL ${f.problem}: ${f.inputHex}`);
  return lines.join('\n');
}

export { makeRng };

if (isMain(import.meta.url)) {
  await runFuzzCli({
    name: 'fuzz-esp-datapath.ts',
    run: ({ iterations, seed }) => fuzzEspDatapath({ iterations, seed: seed ?? Date.now() % 2 ** 31 }),
    format: formatReport,
    failed: (r) => r.failures.length > 0,
  });
}

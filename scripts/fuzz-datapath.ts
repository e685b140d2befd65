/**
 * Fuzzer for egress and plain VXLAN ingress of the whole data path,
 * differentially: every input goes to the native path's processEgress /
 * processIngress (C: native/pipeline/egress.c, ingress.c) and to the
 * TypeScript reference's (src/dataplane/process.ts), the two holding the same
 * networks, FDB, neighbours and SAs:
 *
 *   vni  100  plain, MTU 600      fragments and ICMP too-big at everyday sizes
 *   vni 4096  plain, MTU 1400     test/dataplane/frames.ts's network
 *   vni 5000  plain, MTU 1280     REMOTE_MAC behind an IPv6 VTEP
 *   vni 6000  encrypted, ip carrier, AES-128, ESN
 *   vni 7000  encrypted, udp carrier, AES-256, 32-bit sequence numbers
 *   vni 8000  encrypted, never keyed: no_sa
 *
 * Egress inputs are frames of test/dataplane/frames.ts (its generator, and
 * IPv4/IPv6 frames sized around each MTU with 0–2 VLAN tags, options, DF,
 * fragments), sent to any network or an unknown one; ingress inputs are
 * VXLAN datagrams of such frames for any VNI, from a VTEP of the FDB or not.
 * Both are mutated (scripts/fuzz/frame-mutations.ts): wire-mutations.ts's
 * edits (bit flips, truncation, extension, splices, rewritten ethertype,
 * TPID, IHL, total length, flags/offset, payload length, next header, ARP
 * op, VXLAN flags and VNI) and frame edits (VLAN tag inserted, DF/MF/reserved
 * flag toggled, a MAC replaced).
 *
 * Rules checked on every input: neither path throws; both give the same
 * verdict — the same drop reason, the same out list (VTEP, flow hash, carrier,
 * payload bytes: both planners start the SAs at sequence 0 and the seal is
 * deterministic, so ESP bytes match too) and the same replies; both hold the
 * same counters afterwards (read as test/dataplane/differential.test.ts
 * does). And a few rules of docs/datapath.md on the reference's result: a
 * plain network sends VXLAN of its own VNI no longer than MTU + 22 bytes, an
 * encrypted one only ESP on its carrier; ingress delivers only the datagram's
 * own inner frame, to a plain network.
 *
 *   npx tsx scripts/fuzz-datapath.ts [iterations=1000000] [--seed N]
 *
 * Exits 1 on any failure. test/native/fuzz-datapath.test.ts runs a share.
 */
import type { KeyringState } from '../src/crypto/index.js';
import {
  countersFromSlots,
  type DatapathCounters,
  type EgressResult,
  type FrameProcessor,
  type IngressResult,
  type NetworkEncryption,
} from '../src/dataplane/datapath.js';
import { EspPlanner } from '../src/dataplane/esp-plan.js';
import { EspSaStore } from '../src/dataplane/esp-store.js';
import { NativeDatapath } from '../src/dataplane/native.js';
import { ReferenceProcessor, type NetworkConfig } from '../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../src/dataplane/tables.js';
import { encodeVxlan, ETHERTYPE, parseMac } from '../src/wire/index.js';
import * as F from '../src/testkit/frames.js';
import { below, isMain, keepFirst, makeRng, pick, randomBytes, runFuzzCli, tally, type Rng } from './fuzz/driver.js';
import { datagramFields, editFrame, frameFields, SeedPool } from './fuzz/frame-mutations.js';

const LOCAL_VTEP = '198.18.0.1';
const DATA_PORT = 4789;
/** VTEPs of REMOTE_MAC and OTHER_MAC on the network with an IPv6 underlay. */
const V6_VTEPS = ['2001:db8::2', '2001:db8::3'];
const V6_VNI = 5000;
const NETWORKS: { vni: number; mtu: number; encryption?: NetworkEncryption; keyed?: boolean }[] = [
  { vni: 100, mtu: 600 },
  { vni: F.VNI, mtu: 1400 },
  { vni: V6_VNI, mtu: 1280 },
  { vni: 6000, mtu: 1416, encryption: { carrier: 'ip', keySize: 16, esn: true }, keyed: true },
  { vni: 7000, mtu: 1408, encryption: { carrier: 'udp', keySize: 32, esn: false }, keyed: true },
  { vni: 8000, mtu: 1416, encryption: { carrier: 'ip', keySize: 16, esn: true } },
];
const PLAIN = NETWORKS.filter((n) => n.encryption === undefined);
const UNKNOWN_VNI = 77;
/** Outer sources of ingress datagrams: VTEPs of the FDB, a mapped one, strangers, and text that is no address. */
const SOURCES = [F.REMOTE_VTEP, F.OTHER_VTEP, ...V6_VTEPS, `::ffff:${F.REMOTE_VTEP}`, '198.18.0.77', '2001:db8::99', 'not an address'];
const MACS = [F.REMOTE_MAC, F.OTHER_MAC, F.LOCAL_MAC, '02:42:c6:13:09:09', 'ff:ff:ff:ff:ff:ff', '33:33:00:00:00:01', '01:00:5e:00:00:fb'];

/** What a run found. */
export interface DatapathFuzzReport {
  seed: number;
  inputs: number;
  /**
   * Egress verdicts (the same on both paths when there is no failure): `sent`,
   * `fragments`, `sealed`, `sealed_fragments`, `arp_reply`, `nd_reply`,
   * `too_big_icmp` (dropped and answered), or a drop reason.
   */
  egress: Partial<Record<string, number>>;
  /** Ingress verdicts: `delivered` or a drop reason. */
  ingress: Partial<Record<string, number>>;
  failures: { problem: string; input: string; native?: string; reference?: string }[];
  /** Both paths' counters after the run (equal when there is no failure). */
  counters: { native: DatapathCounters; reference: DatapathCounters };
}

/** The same state in both paths: networks, FDB, neighbours, key rings (from `rng`, so a seed replays exactly). */
function paths(rng: Rng): { native: NativeDatapath; reference: ReferenceProcessor } {
  const native = new NativeDatapath({ bindAddress: LOCAL_VTEP, dataPort: DATA_PORT });
  const fdb = new FdbTable();
  const neigh = new NeighbourTable();
  const sas = new EspSaStore();
  const networks = new Map<number, NetworkConfig>(NETWORKS.map((n) => [n.vni, { mtu: n.mtu, encryption: n.encryption }]));
  const reference = new ReferenceProcessor(networks, fdb, neigh, { dataPort: DATA_PORT, sas });
  const planner = new EspPlanner(LOCAL_VTEP, sas);
  const ring: KeyringState = { keys: [1, 2].map((tag) => ({ tag, material: randomBytes(rng, 32) })), sendTag: 2 };
  for (const n of NETWORKS) {
    native.addDetachedNetwork(n.vni, n.mtu, n.encryption);
    if (n.encryption) planner.addNetwork(n.vni, n.encryption);
    const [remote, other] = n.vni === V6_VNI ? V6_VTEPS : [F.REMOTE_VTEP, F.OTHER_VTEP];
    for (const [mac, vtep] of [[F.REMOTE_MAC, remote], [F.OTHER_MAC, other]]) {
      native.fdbSet(n.vni, mac, vtep);
      fdb.set(n.vni, mac, vtep);
      planner.fdbSet(n.vni, mac, vtep);
    }
    for (const [ip, mac] of [[F.REMOTE_IP, F.REMOTE_MAC], [F.REMOTE_IP6, F.REMOTE_MAC], [F.OTHER_IP, F.OTHER_MAC], [F.LOCAL_IP6, F.LOCAL_MAC]]) {
      native.neighSet(n.vni, ip, mac);
      neigh.set(n.vni, ip, mac);
    }
    if (n.keyed) {
      native.setKeys(n.vni, ring);
      planner.setKeys(n.vni, ring);
    }
  }
  return { native, reference };
}

// ---- inputs ------------------------------------------------------------------------------------------

/** An IPv4 or IPv6 frame of frames.ts sized around the MTU of one of the networks. */
function sizedFrame(rng: Rng): Buffer {
  const mtu = pick(rng, NETWORKS).mtu;
  const size = pick(rng, [mtu - 8 + below(rng, 17), 20 + below(rng, 200), 2 * mtu + below(rng, 64), 600 + below(rng, 8400)]);
  const tags = below(rng, 4) === 0 ? 1 + below(rng, 2) : 0;
  const vlans = Array.from({ length: tags }, () => ({ tpid: pick(rng, [ETHERTYPE.VLAN, ETHERTYPE.QINQ]), tci: below(rng, 0x10000) }));
  const common = { size, vlans, dstMac: below(rng, 4) === 0 ? pick(rng, MACS) : F.REMOTE_MAC, srcPort: below(rng, 65536) };
  if (below(rng, 3) === 0) return F.ipv6Frame({ ...common, nextHeader: pick(rng, [6, 17, 58]), icmpType: pick(rng, [1, 128, 129]) });
  const options = below(rng, 4) === 0 ? randomBytes(rng, 4 * (1 + below(rng, 10))) : undefined;
  if (options && below(rng, 2) === 0) options[0] |= 0x80; // copied into every fragment
  const fragment = below(rng, 8) === 0;
  return F.ipv4Frame({
    ...common,
    options,
    df: below(rng, 2) === 0,
    protocol: pick(rng, [1, 6, 17]),
    icmpType: pick(rng, [0, 8, 3]),
    fragmentOffset: fragment ? below(rng, 0x2000) : 0,
    mf: fragment && below(rng, 2) === 0,
  });
}

/** A VXLAN datagram around a generated frame, for a network of this host or another VNI, from one of the MACs. */
function freshDatagram(rng: Rng, stock: Buffer[], frames: Buffer[]): Buffer {
  const vni = below(rng, 8) === 0 ? UNKNOWN_VNI : pick(rng, below(rng, 4) === 0 ? NETWORKS : PLAIN).vni;
  const srcMac = pick(rng, [F.REMOTE_MAC, F.REMOTE_MAC, F.OTHER_MAC, F.LOCAL_MAC]);
  switch (below(rng, 3)) {
    case 0:
      return pick(rng, stock);
    case 1:
      return F.vxlanFrom(srcMac, vni, 28 + below(rng, 1400));
    default: {
      const inner = Buffer.from(pick(rng, frames));
      if (inner.length >= 12) parseMac(srcMac).copy(inner, 6);
      return encodeVxlan(vni, inner);
    }
  }
}

// ---- rules -------------------------------------------------------------------------------------------

const hex = (b: Buffer): string => b.toString('hex');
const egressView = (r: EgressResult): string =>
  `${r.drop ?? '-'} | ${r.out.map((o) => `${o.vtep} ${o.flowHash >>> 0} ${o.carrier ?? 'plain'} ${hex(o.payload)}`).join(', ')} | ${r.reply.map(hex).join(', ')}`;
const ingressView = (r: IngressResult): string => (r.drop !== undefined ? r.drop : `delivered ${r.vni} ${hex(r.frame!)}`);

function egressOutcome(r: EgressResult): string {
  if (r.drop === 'too_big' && r.reply.length > 0) return 'too_big_icmp';
  if (r.drop !== undefined) return r.drop;
  if (r.reply.length > 0) return r.reply[0].readUInt16BE(12) === ETHERTYPE.ARP ? 'arp_reply' : 'nd_reply';
  const sealed = r.out[0]?.carrier !== undefined;
  if (r.out.length > 1) return sealed ? 'sealed_fragments' : 'fragments';
  return sealed ? 'sealed' : 'sent';
}

/** docs/datapath.md rules on one egress result of network `vni`; the broken one, if any. */
function egressBreaks(vni: number, r: EgressResult): string | undefined {
  const net = NETWORKS.find((n) => n.vni === vni);
  if (net === undefined) return r.out.length > 0 ? 'sent on a network this host has not' : undefined;
  const header = encodeVxlan(vni, Buffer.alloc(0));
  for (const o of r.out) {
    if (net.encryption !== undefined && o.carrier !== net.encryption.carrier) return `network ${vni} sent other than ESP on ${net.encryption.carrier}`;
    if (net.encryption === undefined && (o.carrier !== undefined || !o.payload.subarray(0, 8).equals(header))) return `network ${vni} sent other than VXLAN of its VNI`;
    if (net.encryption === undefined && o.payload.length > 8 + net.mtu + 14) return `network ${vni} sent ${o.payload.length - 8} bytes, over MTU + 14`;
  }
  return undefined;
}

function ingressBreaks(payload: Buffer, r: IngressResult): string | undefined {
  if (r.drop !== undefined) return undefined;
  if (NETWORKS.find((n) => n.vni === r.vni)?.encryption !== undefined || r.vni === UNKNOWN_VNI) return `delivered to network ${r.vni}`;
  if (!r.frame!.equals(payload.subarray(8)) || r.vni !== payload.readUIntBE(4, 3)) return 'delivered other than the datagram\'s frame';
  return undefined;
}

/** The counters both paths hold, flattened in layout order. */
const flat = (c: DatapathCounters): number[] => [c.tx.packets, c.tx.bytes, c.rx.packets, c.rx.bytes, c.arpReplies, c.ndReplies, c.icmpErrors, c.fragments, ...Object.values(c.drops)];

/** One input, and how a path takes it and how its result reads. */
interface Trial<R> {
  /** Direction and network or source, for failure reports. */
  where: string;
  data: Buffer;
  run(p: FrameProcessor, data: Buffer): R;
  view(r: R): string;
  outcome(r: R): string;
  /** The docs/datapath.md rule the reference's result breaks, if any. */
  breaks(r: R): string | undefined;
  outcomes: Partial<Record<string, number>>;
}

/** Runs one trial on both paths and records what it finds. */
function attempt<R>(t: Trial<R>, native: FrameProcessor, reference: FrameProcessor, report: DatapathFuzzReport): void {
  const fail = (problem: string, views?: string[]): void =>
    keepFirst(report.failures, { problem: `${t.where}: ${problem}`, input: hex(t.data), native: views?.[0], reference: views?.[1] }, 20);
  const results: R[] = [];
  for (const [name, p] of [['native', native], ['reference', reference]] as const) {
    try {
      results.push(t.run(p, Buffer.from(t.data)));
    } catch (e) {
      return fail(`${name} threw ${String(e)}`);
    }
  }
  const views = results.map((r) => t.view(r));
  if (views[0] !== views[1]) fail('native and reference disagree', views);
  const broken = t.breaks(results[1]);
  if (broken !== undefined) fail(broken);
  tally(t.outcomes, t.outcome(results[1]));
}

/** Runs the fuzzer for `iterations` inputs. */
export function fuzzDatapath(opts: { iterations: number; seed: number }): DatapathFuzzReport {
  const rng = makeRng(opts.seed);
  const { native, reference } = paths(rng);
  const counters = () => ({ native: native.counters(), reference: countersFromSlots(reference.counters) });
  const report: DatapathFuzzReport = { seed: opts.seed, inputs: 0, egress: {}, ingress: {}, failures: [], counters: counters() };
  const frameStock = F.generateEgressFrames(2048, opts.seed);
  const datagramStock = F.generateIngressDatagrams(512, opts.seed).map((d) => d.payload);
  const freshFrame = (): Buffer => (below(rng, 2) === 0 ? pick(rng, frameStock) : sizedFrame(rng));
  const frames = new SeedPool(frameFields);
  const datagrams = new SeedPool(datagramFields);
  for (let i = 0; i < 64; i++) frames.add(freshFrame());
  for (let i = 0; i < 64; i++) datagrams.add(freshDatagram(rng, datagramStock, frameStock));

  /** A frame to a network's egress (now and then one it does not have). */
  const egress = (): Buffer => {
    if (below(rng, 8) === 0) frames.add(freshFrame(), below(rng, frames.seeds.length));
    const data = frames.input(rng, (f) => editFrame(rng, f, MACS));
    const vni = below(rng, 32) === 0 ? UNKNOWN_VNI : pick(rng, NETWORKS).vni;
    const trial: Trial<EgressResult> = {
      where: `egress vni ${vni}`,
      data,
      run: (p, d) => p.processEgress(vni, d),
      view: egressView,
      outcome: egressOutcome,
      breaks: (r) => egressBreaks(vni, r),
      outcomes: report.egress,
    };
    attempt(trial, native, reference, report);
    return data;
  };
  /** A datagram to ingress, half the time from the VTEP the FDB holds for its inner source MAC (so some are admitted). */
  const ingress = (): Buffer => {
    if (below(rng, 8) === 0) datagrams.add(freshDatagram(rng, datagramStock, frameStock), below(rng, datagrams.seeds.length));
    const data = datagrams.input(rng, (d) => (d.length < 8 ? d : Buffer.concat([d.subarray(0, 8), editFrame(rng, d.subarray(8), MACS)])));
    const vtep = data.length >= 20 ? reference.fdb.lookup(data.readUIntBE(4, 3), data, 14) : undefined;
    const src = vtep !== undefined && below(rng, 2) === 0 ? vtep : pick(rng, SOURCES);
    const trial: Trial<IngressResult> = {
      where: `ingress from ${src}`,
      data,
      run: (p, d) => p.processIngress(src, d),
      view: ingressView,
      outcome: (r) => r.drop ?? 'delivered',
      breaks: (r) => ingressBreaks(data, r),
      outcomes: report.ingress,
    };
    attempt(trial, native, reference, report);
    return data;
  };

  let countersAgree = true;
  for (let i = 0; i < opts.iterations; i++) {
    report.inputs++;
    const data = below(rng, 3) !== 0 ? egress() : ingress();
    // Counters after every input until they first part, so the input that parts them is the one reported.
    if (!countersAgree) continue;
    const [a, b] = [flat(native.counters()), flat(countersFromSlots(reference.counters))];
    const slot = a.findIndex((v, k) => v !== b[k]);
    if (slot < 0) continue;
    countersAgree = false;
    keepFirst(report.failures, { problem: `counters part after this input, slot ${slot}: native ${a[slot]}, reference ${b[slot]}`, input: hex(data) }, 20);
  }
  report.counters = counters();
  return report;
}

/** A readable summary of a report. */
export function formatReport(r: DatapathFuzzReport): string {
  const list = (t: Partial<Record<string, number>>): string => Object.entries(t).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [`seed ${r.seed}: ${r.inputs} inputs, ${r.failures.length} failures`, `egress: ${list(r.egress)}`, `ingress: ${list(r.ingress)}`];
  for (const f of r.failures) {
    lines.push(`FAIL ${f.problem}: ${f.input}`);
    if (f.native === undefined || f.reference === undefined) continue;
    // Where the two verdicts part, with a little before it.
    let at = 0;
    while (at < f.native.length && f.native[at] === f.reference[at]) at++;
    const from = Math.max(0, at - 80);
    lines.push(`  from character ${from}:`, `  native    ${f.native.slice(from, from + 320)}`, `  reference ${f.reference.slice(from, from + 320)}`);
  }
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  await runFuzzCli({
    name: 'fuzz-datapath.ts',
    run: ({ iterations, seed }) => fuzzDatapath({ iterations, seed: seed ?? Date.now() % 2 ** 31 }),
    format: formatReport,
    failed: (r) => r.failures.length > 0,
  });
}

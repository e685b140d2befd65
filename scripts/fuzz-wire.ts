/**
 * Fuzzer for src/wire: feeds random and mutated inputs (bit flips,
 * truncations, length-field edits, splices of valid packets) to every decoder
 * and to describeFrame, and checks that only WireError ever escapes (nothing
 * at all from the predicates and describeFrame), that decoded Buffers alias
 * the input within its bounds, and that decoded numbers are integers.
 *
 *   npx tsx scripts/fuzz-wire.ts [iterations=1000000] [--seed N]
 *
 * Exits 1 on any failure. test/wire/fuzz.test.ts runs the same core
 * ({@link fuzzWire}) with a smaller budget.
 */
import * as wire from '../src/wire/index.js';
import { below, isMain, makeRng, randomBytes, runFuzzCli, tally, type Rng } from './fuzz/driver.js';

import { makeInput, type Field, type FuzzTarget } from './fuzz/wire-mutations.js';

export { makeRng };

/** "" when every condition holds, else the names of those that failed. */
function invariants(conds: Record<string, boolean>): string | undefined {
  const broken = Object.entries(conds).filter(([, ok]) => !ok).map(([name]) => name);
  return broken.length > 0 ? `invariant broken: ${broken.join(', ')}` : undefined;
}

/** Counts for one target. */
export interface TargetStats {
  name: string;
  inputs: number;
  decoded: number;
  wireErrors: Partial<Record<wire.WireErrorCode, number>>;
  failures: number;
}

/** One input that broke a rule, for the report. */
export interface FuzzFailure {
  target: string;
  inputHex: string;
  offset: number;
  problem: string;
}

/** What a run found. */
export interface FuzzReport {
  seed: number;
  inputs: number;
  targets: TargetStats[];
  failures: FuzzFailure[];
}

// ---- seed packets, built with the encoders ---------------------------------------------------

const mac1 = wire.parseMac('02:42:c6:13:01:02');
const mac2 = wire.parseMac('02:42:c6:13:01:03');
const v4a = wire.parseIp('198.19.1.2');
const v4b = wire.parseIp('198.19.1.3');
const v6a = wire.parseIp('2001:db8::1');
const v6b = wire.parseIp('2001:db8::2');

function seedPackets() {
  const icmp = wire.encodeIcmp({ type: 8, code: 0, rest: 0x70001 }, Buffer.alloc(24, 0x61));
  const ipv4 = wire.encodeIPv4({ protocol: 1, src: v4a, dst: v4b, flags: wire.IPV4_FLAG_DF }, icmp);
  const udp4 = wire.encodeUdp(v4a, v4b, { srcPort: 50000, dstPort: 53 }, Buffer.from('query'));
  const ipv4Options = wire.encodeIPv4({ protocol: 17, src: v4a, dst: v4b, options: Buffer.from('9404000001010100', 'hex') }, udp4);
  const tcp = Buffer.from('80e80050fedcba98010203047012faf0abcd0000020405b401030307', 'hex');
  const ipv4Tcp = wire.encodeIPv4({ protocol: 6, src: v4a, dst: v4b }, tcp);
  const fragment = wire.encodeIPv4({ protocol: 1, src: v4a, dst: v4b, id: 9, flags: wire.IPV4_FLAG_MF, fragmentOffset: 3 }, icmp.subarray(0, 16));
  const arp = wire.encodeArp({ op: 1, sha: mac1, spa: v4a, tha: Buffer.alloc(6), tpa: v4b });
  const group = wire.solicitedNodeMulticast(v6b);
  const ns = wire.encodeNeighborSolicitation(v6a, group.ip, v6b, mac1);
  const na = wire.encodeNeighborAdvertisement(v6b, v6a, v6b, mac2, wire.ND_FLAG_SOLICITED | wire.ND_FLAG_OVERRIDE);
  const echo6 = wire.encodeIcmpv6(v6a, v6b, { type: 128, code: 0 }, Buffer.from('00070001abcdef', 'hex'));
  const tooBig = wire.encodeIcmpv6(v6b, v6a, { type: 2, code: 0 }, Buffer.from('00000578', 'hex'));
  const udp6 = wire.encodeUdp(v6a, v6b, { srcPort: 1, dstPort: 2 }, Buffer.from('x'));
  const ipv6 = (nextHeader: number, p: Buffer, hopLimit = 64): Buffer => wire.encodeIPv6({ nextHeader, hopLimit, src: v6a, dst: v6b }, p);
  const eth = (etherType: number, p: Buffer, vlans: wire.VlanTag[] = []): Buffer =>
    wire.encodeEthernet({ dst: mac2, src: mac1, vlans, etherType }, p);
  const frames = [
    eth(0x0800, ipv4),
    eth(0x0800, ipv4Options),
    eth(0x0800, ipv4Tcp, [{ tpid: 0x8100, tci: 10 }]),
    eth(0x0800, fragment),
    eth(0x0806, arp, [{ tpid: 0x88a8, tci: 100 }, { tpid: 0x8100, tci: 10 }]),
    eth(0x86dd, ipv6(58, ns, 255)),
    eth(0x86dd, ipv6(58, na, 255)),
    eth(0x86dd, ipv6(58, echo6)),
    eth(0x86dd, ipv6(58, tooBig)),
    eth(0x86dd, ipv6(17, udp6)),
  ];
  const inner = frames[0];
  const vxlan = wire.encodeVxlan(4096, inner);
  const outerUdp = wire.encodeUdp(v4a, v4b, { srcPort: 40000, dstPort: 4789 }, vxlan);
  const vxlanOuter = eth(0x0800, wire.encodeIPv4({ protocol: 17, src: v4a, dst: v4b }, outerUdp));
  frames.push(vxlanOuter);
  const pcap = new wire.PcapWriter();
  const pcapFile = Buffer.concat([pcap.header(), pcap.record(frames[0], 1000), pcap.record(frames[5], 2000.5)]);
  return { icmp, ipv4, ipv4Options, ipv4Tcp, fragment, udp4, tcp, arp, ns, na, echo6, tooBig, udp6, frames, vxlan, pcapFile };
}

/**
 * The length, version, type and port fields of a frame built by seedPackets,
 * found by decoding it: where a describeFrame mutation does the most good.
 */
function frameFields(frame: Buffer, base = 0, depth = 0): Field[] {
  const fields: Field[] = [];
  const eth = wire.decodeEthernet(frame, base);
  for (let i = 0; i <= eth.vlans.length; i++) fields.push({ at: base + 12 + 4 * i, size: 2 });
  const l3 = base + eth.headerLength;
  let l4 = -1;
  let protocol = -1;
  if (eth.etherType === wire.ETHERTYPE.ARP) {
    fields.push({ at: l3 + 4, size: 1 }, { at: l3 + 5, size: 1 }, { at: l3 + 6, size: 2 });
  } else if (eth.etherType === wire.ETHERTYPE.IPV4) {
    const ip = wire.decodeIPv4(frame, l3);
    fields.push({ at: l3, size: 1 }, { at: l3 + 2, size: 2 }, { at: l3 + 6, size: 2 }, { at: l3 + 9, size: 1 });
    [l4, protocol] = [l3 + ip.headerLength, ip.protocol];
  } else if (eth.etherType === wire.ETHERTYPE.IPV6) {
    fields.push({ at: l3, size: 1 }, { at: l3 + 4, size: 2 }, { at: l3 + 6, size: 1 });
    [l4, protocol] = [l3 + 40, wire.decodeIPv6(frame, l3).nextHeader];
  }
  if (protocol === 1 || protocol === 58) fields.push({ at: l4, size: 1 }, { at: l4 + 25, size: 1 });
  if (protocol === 6) fields.push({ at: l4 + 12, size: 1 });
  if (protocol === 17) {
    fields.push({ at: l4 + 2, size: 2 }, { at: l4 + 4, size: 2 });
    if (wire.decodeUdp(frame, l4).dstPort === wire.VXLAN_DEFAULT_PORT && depth === 0) {
      fields.push({ at: l4 + 8, size: 1 }, ...frameFields(frame, l4 + 16, depth + 1));
    }
  }
  return fields;
}

function buildTargets(): FuzzTarget[] {
  const s = seedPackets();
  const ipv6Packets = s.frames.filter((f) => f.readUInt16BE(12) === 0x86dd).map((f) => f.subarray(14));
  const optionalLength = (input: Buffer, offset: number, rng: Rng): number | undefined =>
    rng() % 4 === 0 ? below(rng, input.length - offset + 3) : undefined;
  const texts = ['02:42:c6:13:01:02', '02-42-c6-13-01-02', '198.18.0.1', '2001:db8::1', '::ffff:198.18.0.1', '1:2:3:4:5:6:7:8', '::'];
  const sixteenBytes = [v6a, v6b];
  const f = (at: number, size: 1 | 2 | 4): Field => ({ at, size });
  return [
    {
      name: 'decodeEthernet',
      seeds: s.frames,
      fields: [f(12, 2), f(16, 2), f(20, 2)],
      takesOffset: true,
      zeroCopy: true,
      run: (b, o) => wire.decodeEthernet(b, o),
      check: (h: wire.EthernetHeader, b: Buffer, o: number) =>
        invariants({
          macs: h.dst.length === 6 && h.src.length === 6,
          header: h.headerLength === 14 + 4 * h.vlans.length && o + h.headerLength <= b.length,
        }),
    },
    {
      name: 'decodeArp',
      seeds: [s.arp],
      fields: [f(0, 2), f(2, 2), f(4, 1), f(5, 1)],
      takesOffset: true,
      zeroCopy: true,
      run: (b, o) => wire.decodeArp(b, o),
      check: (p: wire.ArpPacket, b: Buffer, o: number) =>
        invariants({ sizes: p.sha.length === 6 && p.tha.length === 6 && p.spa.length === 4 && p.tpa.length === 4, inside: o + 28 <= b.length }),
    },
    {
      name: 'decodeIPv4',
      seeds: [s.ipv4, s.ipv4Options, s.ipv4Tcp, s.fragment],
      fields: [f(0, 1), f(2, 2)],
      takesOffset: true,
      zeroCopy: true,
      run: (b, o) => wire.decodeIPv4(b, o),
      check: (h: wire.IPv4Header, b: Buffer, o: number) =>
        invariants({
          addrs: h.src.length === 4 && h.dst.length === 4,
          options: h.options.length === h.headerLength - 20,
          total: h.totalLength >= h.headerLength && o + h.totalLength <= b.length,
        }),
    },
    {
      name: 'ipv4HeaderChecksumValid',
      seeds: [s.ipv4, s.ipv4Options],
      fields: [f(0, 1)],
      takesOffset: true,
      neverThrows: true,
      run: (b, o) => wire.ipv4HeaderChecksumValid(b, o),
    },
    {
      name: 'decodeIPv6',
      seeds: ipv6Packets,
      fields: [f(0, 1), f(4, 2)],
      takesOffset: true,
      zeroCopy: true,
      run: (b, o) => wire.decodeIPv6(b, o),
      check: (h: wire.IPv6Header, b: Buffer, o: number) =>
        invariants({ addrs: h.src.length === 16 && h.dst.length === 16, payload: o + 40 + h.payloadLength <= b.length }),
    },
    {
      name: 'decodeIcmp',
      seeds: [s.icmp],
      fields: [],
      takesOffset: true,
      zeroCopy: true,
      run: (b, o, r) => wire.decodeIcmp(b, o, optionalLength(b, o, r)),
      check: (m: wire.IcmpMessage, b: Buffer, o: number) => invariants({ body: o + 8 + m.body.length <= b.length }),
    },
    {
      name: 'decodeIcmpv6',
      seeds: [s.ns, s.na, s.echo6, s.tooBig],
      fields: [],
      takesOffset: true,
      zeroCopy: true,
      run: (b, o, r) => wire.decodeIcmpv6(b, o, optionalLength(b, o, r)),
      check: (m: wire.Icmpv6Message, b: Buffer, o: number) => invariants({ body: o + 4 + m.body.length <= b.length }),
    },
    {
      name: 'icmpv6ChecksumValid',
      seeds: [s.ns, s.na, s.echo6],
      fields: [],
      takesOffset: true,
      neverThrows: true,
      run: (b, o, r) => wire.icmpv6ChecksumValid(sixteenBytes[r() & 1], sixteenBytes[r() & 1], b, o, optionalLength(b, o, r)),
    },
    {
      name: 'decodeNeighborMessage',
      seeds: [s.ns.subarray(4), s.na.subarray(4), Buffer.concat([s.na.subarray(4), Buffer.from('0e01000000000000', 'hex')])],
      fields: [f(21, 1), f(29, 1)],
      takesOffset: false,
      zeroCopy: true,
      run: (b, _o, r) => wire.decodeNeighborMessage(b, r() % 8 === 0 ? below(r, 256) : 135 + (r() & 1)),
      check: (m: wire.NeighborMessage) =>
        invariants({ target: m.target.length === 16, lla: m.linkLayerAddress === undefined || m.linkLayerAddress.length === 6 }),
    },
    {
      name: 'decodeUdp',
      seeds: [s.udp4, s.udp6],
      fields: [f(4, 2)],
      takesOffset: true,
      zeroCopy: true,
      run: (b, o) => wire.decodeUdp(b, o),
      check: (h: wire.UdpHeader, b: Buffer, o: number) => invariants({ length: h.length >= 8 && o + h.length <= b.length }),
    },
    {
      name: 'decodeTcp',
      seeds: [s.tcp],
      fields: [f(12, 1)],
      takesOffset: true,
      zeroCopy: true,
      run: (b, o) => wire.decodeTcp(b, o),
      check: (h: wire.TcpHeader, b: Buffer, o: number) =>
        invariants({ options: h.options.length === h.headerLength - 20 && o + h.headerLength <= b.length }),
    },
    {
      name: 'decodeVxlan',
      seeds: [s.vxlan],
      fields: [f(0, 1)],
      takesOffset: true,
      zeroCopy: true,
      run: (b, o) => wire.decodeVxlan(b, o),
      check: (h: wire.VxlanHeader, b: Buffer, o: number) =>
        invariants({ vni: h.vni >= 0 && h.vni <= 0xffffff, flag: (h.flags & 8) === 8, inside: o + 8 <= b.length }),
    },
    {
      name: 'readPcap',
      seeds: [s.pcapFile],
      fields: [f(0, 4), f(4, 2), f(32, 4), f(36, 4), f(24 + 16 + 98 + 8, 4)],
      takesOffset: false,
      zeroCopy: true,
      run: (b) => wire.readPcap(b),
      check: (r: ReturnType<typeof wire.readPcap>) => invariants({ records: r.packets.every((p) => p.origLen >= 0 && p.timeUs >= 0) }),
    },
    {
      name: 'describeFrame',
      seeds: s.frames,
      fields: [],
      seedFields: s.frames.map((frame) => frameFields(frame)),
      takesOffset: false,
      neverThrows: true,
      run: (b) => wire.describeFrame(b),
    },
    {
      name: 'parseMac/parseIp',
      seeds: texts.map((t) => Buffer.from(t, 'latin1')),
      fields: [],
      takesOffset: false,
      run: (b, _o, r) => (r() & 1 ? wire.parseMac(b.toString('latin1')) : wire.parseIp(b.toString('latin1'))),
    },
    {
      name: 'ipFamily',
      seeds: texts.map((t) => Buffer.from(t, 'latin1')),
      fields: [],
      takesOffset: false,
      neverThrows: true,
      run: (b) => wire.ipFamily(b.toString('latin1')),
    },
    {
      name: 'formatIp/formatMac',
      seeds: [v4a, v6a, mac1],
      fields: [],
      takesOffset: true,
      run: (b, o, r) => (r() & 1 ? wire.formatMac(b, o) : wire.formatIp(b.subarray(o))),
    },
    {
      name: 'onesComplementSum',
      seeds: [s.ipv4],
      fields: [],
      takesOffset: true,
      run: (b, o, r) => wire.onesComplementSum(b, o, o + below(r, b.length - o + 2) - (r() % 16 === 0 ? 3 : 0)),
    },
  ];
}


// ---- checks on what a decoder returned ------------------------------------------------------

/**
 * Finds non-integer numbers, "NaN"/"undefined" text and (with `zeroCopy`)
 * Buffers that are not views of the input in a result.
 */
function checkResult(value: unknown, input: Buffer, zeroCopy: boolean, depth = 0): string | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? undefined : `non-integer number ${value}`;
  if (typeof value === 'string') return /NaN|undefined|undecodable/.test(value) ? `text "${value}"` : undefined;
  if (value === null || typeof value !== 'object' || depth > 4) return undefined;
  if (Buffer.isBuffer(value)) {
    // The input owns its ArrayBuffer alone, so a view of it is a decoder's zero-copy slice.
    if (!zeroCopy) return undefined;
    if (value.buffer !== input.buffer) return 'decoded Buffer is a copy, not a view of the input';
    return value.byteOffset + value.length <= input.length ? undefined : 'Buffer outside the input';
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    const problem = checkResult(v, input, zeroCopy, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

// ---- the loop --------------------------------------------------------------------------------

/** Runs `iterations` inputs in total, spread evenly over all targets. */
export function fuzzWire(opts: { iterations: number; seed?: number; maxFailuresPerTarget?: number }): FuzzReport {
  const seed = opts.seed ?? (Date.now() & 0x7fffffff);
  const rng = makeRng(seed);
  const targets = buildTargets();
  const perTarget = Math.ceil(opts.iterations / targets.length);
  const failures: FuzzFailure[] = [];
  const stats: TargetStats[] = [];
  for (const t of targets) {
    const st: TargetStats = { name: t.name, inputs: 0, decoded: 0, wireErrors: {}, failures: 0 };
    for (let i = 0; i < perTarget; i++) {
      let input: Buffer = makeInput(rng, t);
      let offset = 0;
      if (t.takesOffset) {
        const roll = rng() % 16;
        if (roll < 2) {
          offset = 1 + (rng() % 7);
          input = Buffer.concat([randomBytes(rng, offset), input]);
        } else if (roll === 2) {
          offset = [input.length, input.length + 1, input.length + 100, -1, 0.5, Number.NaN][rng() % 6];
        }
      }
      // An exact-size copy in its own ArrayBuffer (not the shared pool): a read past
      // the end meets no neighbouring bytes, and views of it are recognisable.
      const own = Buffer.from(new ArrayBuffer(input.length));
      input.copy(own);
      input = own;
      st.inputs++;
      let problem: string | undefined;
      try {
        const result = t.run(input, offset, rng);
        problem = checkResult(result, input, t.zeroCopy === true) ?? t.check?.(result as never, input, offset);
        st.decoded++;
      } catch (e) {
        if (e instanceof wire.WireError && !t.neverThrows) {
          tally(st.wireErrors, e.code);
        } else {
          problem = `threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
        }
      }
      if (problem) {
        st.failures++;
        if (st.failures <= (opts.maxFailuresPerTarget ?? 5)) {
          failures.push({ target: t.name, inputHex: input.subarray(0, 256).toString('hex'), offset, problem });
        }
      }
    }
    stats.push(st);
  }
  return { seed, inputs: stats.reduce((n, s) => n + s.inputs, 0), targets: stats, failures };
}

/** The report as an aligned text table. */
export function formatReport(r: FuzzReport): string {
  const codes: wire.WireErrorCode[] = ['TRUNCATED', 'BAD_LENGTH', 'BAD_VERSION', 'BAD_VALUE', 'BAD_CHECKSUM'];
  const head = ['target', 'inputs', 'decoded', ...codes, 'FAILURES'];
  const rows = r.targets.map((s) => [s.name, s.inputs, s.decoded, ...codes.map((c) => s.wireErrors[c] ?? 0), s.failures].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const lines = [`seed ${r.seed}, ${r.inputs} inputs`, line(head), ...rows.map(line)];
  for (const f of r.failures) lines.push(`FAIL ${f.target} offset ${f.offset}: ${f.problem}\n  input ${f.inputHex}`);
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  await runFuzzCli({
    name: 'fuzz-wire.ts',
    run: fuzzWire,
    format: formatReport,
    failed: (r) => r.failures.length > 0 || r.targets.some((t) => t.failures > 0),
  });
}

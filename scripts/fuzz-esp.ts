/**
 * Fuzzer for the ESP layer: random and mutated packets (bit flips, byte
 * edits, truncations, extensions, splices, rewritten SPI / sequence / IV
 * fields) fed to the ESP decoders of src/wire and to openEsp.
 *
 * Rules checked on every input:
 * - decoders throw nothing but WireError, and their Buffers alias the input;
 * - espPayloadLength / classifyEspInUdp / openEsp never throw;
 * - openEsp returns an opened packet or one of the six stable reasons;
 * - openEsp opens only packets byte-identical to one that was sealed, and
 *   then returns exactly what was sealed (authentication holds under mutation);
 * - the replay window never accepts a sequence number twice.
 *
 *   npx tsx scripts/fuzz-esp.ts [iterations=1000000] [--seed N]
 *
 * Exits 1 on any failure. test/crypto/fuzz.test.ts runs the same core
 * ({@link fuzzEsp}) with a smaller budget.
 */
import { sealPlaintext } from '../src/testkit/esp.js';
import {
  deriveSa,
  ESP_DROP_REASONS,
  type EspDropReason,
  openEsp,
  ReplayWindow,
  type SecurityAssociation,
  SecurityAssociation as Sa,
  sealEsp,
} from '../src/crypto/index.js';
import * as wire from '../src/wire/index.js';
import { below, extend, flipBits, isMain, keepFirst, makeRng, randomBytes, runFuzzCli, setByte, splice, tally, truncate, type Rng } from './fuzz/driver.js';

export { makeRng };

/** One sealed packet and what it carries. */
interface Seed {
  sa: SecurityAssociation;
  seq: number;
  payload: Buffer;
  nextHeader: number;
  packet: Buffer;
}

/** What a run found. */
export interface EspFuzzReport {
  seed: number;
  inputs: number;
  /** openEsp results by outcome: `opened` or a drop reason. */
  open: Record<'opened' | EspDropReason, number>;
  /** Decoder calls that returned / threw each WireError code. */
  decoders: { decoded: number; wireErrors: Partial<Record<wire.WireErrorCode, number>> };
  failures: { problem: string; inputHex: string }[];
}

function makeSeeds(rng: Rng): Seed[] {
  const key = { tag: 0x0f0f0f0f, material: Buffer.alloc(32, 0x33) };
  const src = wire.parseIp('198.18.0.1');
  const dst = wire.parseIp('198.18.0.2');
  const sas = [
    deriveSa({ key, src, dst }),
    deriveSa({ key, src, dst, keySize: 32 }),
    new Sa({ spi: 0x4000, key: Buffer.alloc(16, 7), salt: Buffer.alloc(4, 8), esn: false }),
  ];
  const seeds: Seed[] = [];
  for (const sa of sas) {
    for (const seq of [1, 2, 3, 100, 5000, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 3]) {
      if (!sa.esn && seq > 0xffffffff) continue;
      const length = [0, 1, 2, 3, 7, 64, 200][below(rng, 7)];
      const payload = randomBytes(rng, length);
      const nextHeader = below(rng, 4) === 0 ? 59 : 17;
      seeds.push({ sa, seq, payload, nextHeader, packet: sealEsp(sa, seq, payload, nextHeader) });
    }
    // Two authentic packets with malformed trailers (expected: esp_bad_padding, never opened).
    for (const [seq, plain] of [[7, [5, 5, 9, 9, 2, 17]], [8, [0, 0, 0, 250, 17]]] as const) {
      seeds.push({ sa, seq, payload: Buffer.alloc(0), nextHeader: -1, packet: sealPlaintext(sa, seq, Buffer.from(plain)) });
    }
  }
  return seeds;
}

/** A mutated copy of `base` (one of several edits), or fresh random bytes. */
export function mutate(rng: Rng, base: Buffer, other: Buffer): Buffer {
  const b = Buffer.from(base);
  switch (below(rng, 10)) {
    case 0: // random bytes, sometimes with a real SPI
      return Buffer.from(Array.from({ length: below(rng, 80) }, (_, i) => (i < 4 && below(rng, 2) === 0 ? base[i] : below(rng, 256))));
    case 1:
      return flipBits(rng, b, 3);
    case 2:
      return setByte(rng, b);
    case 3:
      return truncate(rng, b);
    case 4:
      return extend(rng, b, 8);
    case 5: // head of one packet, tail of another
      return splice(rng, b, other);
    case 6: // rewrite the low sequence half
      if (b.length >= 8) b.writeUInt32BE(below(rng, 4) === 0 ? rng() : (b.readUInt32BE(4) + below(rng, 5) - 2) >>> 0, 4);
      return b;
    case 7: // rewrite the IV (high half or whole)
      if (b.length >= 16) b.writeUInt32BE(below(rng, 2) === 0 ? rng() : b.readUInt32BE(8) + 1, 8);
      return b;
    case 8: // SPI of another SA
      if (b.length >= 4) other.copy(b, 0, 0, 4);
      return b;
    default: // unchanged: a replay
      return b;
  }
}

const REASONS = new Set<string>(ESP_DROP_REASONS);

/** Runs the fuzzer for `iterations` inputs. */
export function fuzzEsp(opts: { iterations: number; seed: number }): EspFuzzReport {
  const rng = makeRng(opts.seed);
  const seeds = makeSeeds(rng);
  const report: EspFuzzReport = {
    seed: opts.seed,
    inputs: 0,
    open: { opened: 0, esp_truncated: 0, esp_bad_spi: 0, esp_replay: 0, esp_bad_icv: 0, esp_bad_padding: 0, esp_too_old: 0 },
    decoders: { decoded: 0, wireErrors: {} },
    failures: [],
  };
  const fail = (problem: string, input: Buffer): void => {
    keepFirst(report.failures, { problem, inputHex: input.toString('hex') }, 20);
  };
  // One window per SA; reset now and then so that fresh packets open again.
  const windows = new Map<SecurityAssociation, ReplayWindow>();
  const accepted = new Map<SecurityAssociation, Set<number>>();
  const windowOf = (sa: SecurityAssociation): ReplayWindow => {
    let w = windows.get(sa);
    if (w === undefined || below(rng, 50) === 0) {
      w = new ReplayWindow(1024);
      windows.set(sa, w);
      accepted.set(sa, new Set());
    }
    return w;
  };

  for (let i = 0; i < opts.iterations; i++) {
    const seed = seeds[below(rng, seeds.length)];
    const other = seeds[below(rng, seeds.length)].packet;
    const input = mutate(rng, seed.packet, other);
    report.inputs++;

    // The wire decoders: only WireError, zero-copy results.
    for (const decode of [
      () => wire.decodeEsp(input),
      () => wire.decodeEspHeader(input, below(rng, 3)),
      () => wire.decodeEspTrailer(input, 0, below(rng, input.length + 1)),
    ]) {
      try {
        const r = decode();
        report.decoders.decoded++;
        for (const v of Object.values(r)) {
          if (Buffer.isBuffer(v) && v.buffer !== input.buffer) fail('decoder result does not alias the input', input);
          if (typeof v === 'number' && !Number.isInteger(v)) fail('decoder returned a non-integer', input);
        }
      } catch (e) {
        if (!wire.isWireError(e)) fail(`decoder threw ${String(e)}`, input);
        else tally(report.decoders.wireErrors, e.code);
      }
    }
    try {
      const n = wire.espPayloadLength(input, 0, input.length);
      if (!Number.isInteger(n) || n < -1 || n > input.length) fail(`espPayloadLength returned ${n}`, input);
      wire.classifyEspInUdp(input);
    } catch (e) {
      fail(`predicate threw ${String(e)}`, input);
    }

    // openEsp: never throws; opens only what was sealed; never accepts a number twice.
    const sa = seed.sa;
    const window = windowOf(sa);
    let r: ReturnType<typeof openEsp>;
    try {
      r = openEsp(sa, window, input);
    } catch (e) {
      fail(`openEsp threw ${String(e)}`, input);
      continue;
    }
    if (typeof r === 'string') {
      if (!REASONS.has(r)) fail(`unknown drop reason ${r}`, input);
      else report.open[r]++;
      continue;
    }
    report.open.opened++;
    const original = seeds.find((s) => s.sa === sa && s.packet.equals(input));
    if (original === undefined) fail('openEsp opened a packet that was never sealed', input);
    else if (!r.payload.equals(original.payload) || r.seq !== original.seq || r.nextHeader !== original.nextHeader) fail('openEsp returned other contents', input);
    const seen = accepted.get(sa)!;
    if (seen.has(r.seq)) fail(`sequence number ${r.seq} accepted twice`, input);
    seen.add(r.seq);
  }
  return report;
}

/** A readable summary of a report. */
export function formatReport(r: EspFuzzReport): string {
  const lines = [`seed ${r.seed}: ${r.inputs} inputs, ${r.failures.length} failures`];
  lines.push(`openEsp: ${Object.entries(r.open).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`decoders: ${r.decoders.decoded} decoded, WireError ${JSON.stringify(r.decoders.wireErrors)}`);
  for (const f of r.failures) lines.push(`FAIL ${f.problem}: ${f.inputHex}`);
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  await runFuzzCli({
    name: 'fuzz-esp.ts',
    run: ({ iterations, seed }) => fuzzEsp({ iterations, seed: seed ?? Date.now() % 2 ** 31 }),
    format: formatReport,
    failed: (r) => r.failures.length > 0,
  });
}

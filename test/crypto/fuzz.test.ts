/**
 * A 20,000-input share of the ESP fuzzer (scripts/fuzz-esp.ts, same core):
 * decoders raise only WireError, openEsp never throws, opens only what was
 * sealed and never accepts a sequence number twice. A fixed seed keeps the
 * run repeatable; FUZZ_SEED overrides it.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, fuzzEsp, makeRng } from '../../scripts/fuzz-esp.js';

describe('ESP fuzzing (20,000 inputs)', () => {
  it('holds every rule, and the mutations reach every outcome', () => {
    const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_261_123;
    const report = fuzzEsp({ iterations: 20_000, seed });
    if (report.failures.length > 0) console.error(formatReport(report));
    expect(report.failures).toEqual([]);
    expect(report.inputs).toBe(20_000);
    for (const [outcome, count] of Object.entries(report.open)) expect(count, outcome).toBeGreaterThan(0);
    for (const code of ['TRUNCATED', 'BAD_LENGTH', 'BAD_VALUE'] as const) expect(report.decoders.wireErrors[code], code).toBeGreaterThan(0);
    expect(report.decoders.decoded).toBeGreaterThan(0);
  });

  it('is deterministic per seed', () => {
    const a = makeRng(9);
    const b = makeRng(9);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    expect(fuzzEsp({ iterations: 300, seed: 5 }).open).toEqual(fuzzEsp({ iterations: 300, seed: 5 }).open);
  });
});

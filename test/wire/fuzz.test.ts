/**
 * A small share of the fuzzer (scripts/fuzz-wire.ts, same core): random and
 * mutated inputs to every decoder may only raise WireError, and predicates
 * and describeFrame nothing at all. A fixed seed keeps the run repeatable;
 * FUZZ_SEED overrides it.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, fuzzWire, makeRng } from '../../scripts/fuzz-wire.js';

describe('wire fuzzing (20,000 inputs)', () => {
  it('only WireError escapes, decoded buffers alias the input, no NaN', () => {
    const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_261_123;
    const report = fuzzWire({ iterations: 20_000, seed });
    if (report.failures.length > 0) console.error(formatReport(report));
    expect(report.failures).toEqual([]);
    expect(report.inputs).toBeGreaterThanOrEqual(20_000);
    // Every target saw inputs, and every decoder both accepted and refused some: the mutations reach both paths.
    for (const t of report.targets) {
      expect(t.inputs, t.name).toBeGreaterThan(1000);
      expect(t.decoded, t.name).toBeGreaterThan(0);
      if (t.name.startsWith('decode')) expect(Object.values(t.wireErrors).reduce((a, b) => a + (b ?? 0), 0), t.name).toBeGreaterThan(0);
    }
  });

  it('the generator is deterministic per seed', () => {
    const a = makeRng(42);
    const b = makeRng(42);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    expect(fuzzWire({ iterations: 500, seed: 7 }).targets).toEqual(fuzzWire({ iterations: 500, seed: 7 }).targets);
  });
});

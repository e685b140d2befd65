/**
 * A 20,000-input share of the identity fuzzer (scripts/fuzz-identity.ts,
 * same core): certificate, revocation and signed-entry decoders raise only
 * IdentityError or refuse, never crash, and nothing unsigned is believed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { formatReport, fuzzIdentity, sodiumReady } from '../../scripts/fuzz-identity.js';

beforeAll(() => sodiumReady());

describe('identity fuzzing (20,000 inputs)', () => {
  it('holds every rule, and the mutations reach every outcome', () => {
    const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_261_207;
    const report = fuzzIdentity({ iterations: 20_000, seed });
    if (report.failures.length > 0) console.error(formatReport(report));
    expect(report.failures).toEqual([]);
    expect(report.inputs).toBe(20_000);
    expect(report.outcomes.certificate.unparsed).toBeGreaterThan(0);
    expect(report.outcomes.certificate.refused).toBeGreaterThan(0);
    expect(report.outcomes.revocation.refused).toBeGreaterThan(0);
    expect(report.outcomes.entry.refused).toBeGreaterThan(0);
    expect(report.outcomes.entry.unparsed).toBeGreaterThan(0);
  });
});

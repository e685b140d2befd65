/**
 * A 20,000-input share of the data-path ESP fuzzer (scripts/fuzz-esp-datapath.ts):
 * native and reference processEsp never throw, always agree, and deliver
 * only what a peer sealed. FUZZ_SEED overrides the fixed seed.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, fuzzEspDatapath } from '../../scripts/fuzz-esp-datapath.js';
import { haveAddon } from './support.js';

describe.skipIf(!haveAddon())('data-path ESP fuzzing, native against reference (20,000 inputs)', () => {
  it('holds every rule, and the inputs reach delivery and every ingress drop but padding', () => {
    const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_261_123;
    const report = fuzzEspDatapath({ iterations: 20_000, seed });
    if (report.failures.length > 0) console.error(formatReport(report));
    expect(report.failures).toEqual([]);
    for (const outcome of ['delivered', 'malformed', 'esp_truncated', 'esp_bad_spi', 'esp_replay', 'esp_bad_icv', 'esp_too_old', 'esp_wrong_vni']) {
      expect(report.outcomes[outcome] ?? 0, outcome).toBeGreaterThan(0);
    }
  });
});

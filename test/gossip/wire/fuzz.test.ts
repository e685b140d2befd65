/**
 * The suite's share of scripts/fuzz-gossip.ts: 20,000 random and mutated
 * inputs through every decoder; all must be accepted or refused with a
 * GossipWireError, none may throw anything else.
 */
import { describe, expect, it } from 'vitest';
import { fuzzGossipWire } from '../../../scripts/fuzz-gossip.js';

describe('gossip wire fuzzing (suite share)', () => {
  it('20,000 inputs: no decoder throws anything but GossipWireError', async () => {
    const report = await fuzzGossipWire(20_000, 20251123);
    expect(report.crashes).toEqual([]);
    expect(report.inputs).toBe(20_000);
    // Both outcomes are exercised: the mutations are not all rejected up front.
    expect(report.accepted).toBeGreaterThan(1000);
    for (const code of ['TRUNCATED', 'BAD_FIELD', 'BAD_CRC', 'DECRYPT_FAILED', 'BAD_COMPRESSION', 'UNKNOWN_TYPE']) {
      expect(report.refused[code], code).toBeGreaterThan(0);
    }
  });
});

/**
 * A 20,000-input share of the data-path fuzzer (scripts/fuzz-datapath.ts):
 * native and reference processEgress/processIngress never throw, always
 * agree (drop reason, out list, replies, counters), and the inputs reach
 * every outcome worth comparing. FUZZ_SEED overrides the fixed seed.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, fuzzDatapath } from '../../scripts/fuzz-datapath.js';
import { haveAddon } from './support.js';

describe.skipIf(!haveAddon())('data-path fuzzing of egress and VXLAN ingress, native against reference (20,000 inputs)', () => {
  it('holds every rule, and the inputs reach sending, sealing, fragments, proxy replies, ICMP too-big and the drops', () => {
    const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_261_207;
    const report = fuzzDatapath({ iterations: 20_000, seed });
    if (report.failures.length > 0) console.error(formatReport(report));
    expect(report.failures).toEqual([]);
    expect(report.counters.reference.tx.packets).toBeGreaterThan(1000);
    expect(report.counters.native).toEqual(report.counters.reference);
    const egress = ['sent', 'fragments', 'sealed', 'sealed_fragments', 'arp_reply', 'nd_reply', 'too_big_icmp', 'too_big', 'malformed', 'no_network', 'no_fdb', 'broadcast', 'multicast', 'no_sa'];
    for (const outcome of egress) expect(report.egress[outcome] ?? 0, `egress ${outcome}`).toBeGreaterThan(0);
    const ingress = ['delivered', 'malformed', 'bad_vxlan', 'unknown_vni', 'plaintext_on_encrypted', 'unknown_vtep', 'spoofed_src'];
    for (const outcome of ingress) expect(report.ingress[outcome] ?? 0, `ingress ${outcome}`).toBeGreaterThan(0);
  });
});

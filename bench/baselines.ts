/**
 * Baselines for overlayd's numbers: on a 2-host namespace topology, the
 * plain underlay, (a) the kernel's VXLAN, (b) wireguard-go and (c) Nebula, each measured
 * with the same suite (TCP ×1, TCP ×4, UDP 64-byte packet rate, ping RTT;
 * medians of `--runs`), printed as one markdown table with ratios to the
 * kernel VXLAN row.
 *
 *     npx tsx bench/baselines.ts [--runs 3] [--seconds 5] [--json FILE]
 *
 * The builders are exported so another bench can put overlayd's own row
 * into the same run.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanStaleRuns, Topology } from '../src/testkit/netns.js';
import { haveRoot, haveTools } from '../src/testkit/ci.js';
import { kernelVxlanOverlay } from './lib/kernel-vxlan.js';
import { NEBULA_TOOLS, nebulaOverlay } from './lib/nebula.js';
import { measureOverlay, type BenchOverlay, type SuiteOptions, type SuiteResult } from './lib/overlay.js';
import { renderTable, type MetricColumn } from './lib/table.js';
import { underlayPath } from './lib/underlay.js';
import { wireguardOverlay } from './lib/wireguard.js';

export { kernelVxlanOverlay, type KernelVxlanOverlay, type KernelVxlanOptions } from './lib/kernel-vxlan.js';
export { wireguardOverlay, type WireguardOverlay, type WireguardOptions } from './lib/wireguard.js';
export { nebulaOverlay, type NebulaOverlay, type NebulaOptions } from './lib/nebula.js';
export { underlayPath } from './lib/underlay.js';
export { measureOverlay, type BenchOverlay, type SuiteResult } from './lib/overlay.js';

/** A builder of one table row on a topology. */
export type OverlayBuilder = (topology: Topology) => BenchOverlay | Promise<BenchOverlay>;

/** The columns of the baseline table. */
export const SUITE_COLUMNS: readonly MetricColumn<'tcp1Gbps' | 'tcp4Gbps' | 'udp64Kpps' | 'rttUs' | 'tcp1Cores' | 'tcp1GbpsPerCore'>[] = [
  { key: 'tcp1Gbps', title: 'TCP 1 stream Gbit/s' },
  { key: 'tcp4Gbps', title: 'TCP 4 streams Gbit/s' },
  { key: 'udp64Kpps', title: 'UDP 64 B kpps', digits: 0 },
  { key: 'rttUs', title: 'ping RTT µs (median)', digits: 0 },
  // No ratios: the kernel row counts other time than the userspace rows (CPU_FOOTNOTE).
  { key: 'tcp1Cores', title: 'CPU cores', ratio: false },
  { key: 'tcp1GbpsPerCore', title: 'Gbit/s per core', ratio: false },
];

/** What the CPU columns count; printed under the table. */
export const CPU_FOOTNOTE = [
  'CPU cores: CPU seconds of the tunnel ÷ wall seconds while the TCP 1 stream test ran; Gbit/s per core: that test\'s Gbit/s ÷ those cores',
  '(medians of the runs). Userspace rows count their tunnel processes: user + system time of both overlayd agents, both wireguard-go',
  'or both nebula daemons, all threads. The kernel VXLAN row counts softirq time summed over all CPUs (/proc/stat), whatever caused it.',
  'Neither counts iperf3. What the kernel does for a userspace tunnel counts only as far as it runs on that tunnel\'s time (its system',
  'calls, softirq that interrupts it); the two kinds of row are not measured alike, so these columns have no ratio.',
].join('\n');

/** Name of the row the ratios are relative to. */
export const BASELINE_ROW = 'kernel VXLAN';

/** Options of {@link measureAll}. */
export interface MeasureAllOptions {
  /**
   * Called when a row fails to build or to measure (with its index in
   * `builders`); the run goes on with the next row. Without it, the first
   * failure ends the run.
   */
  onRowError?: (index: number, error: unknown) => void;
}

/**
 * Builds each overlay in turn on one 2-host topology, measures it, takes it
 * down; returns the results by row name. The topology is removed at the end.
 */
export async function measureAll(
  builders: readonly OverlayBuilder[],
  suite: SuiteOptions,
  opts: MeasureAllOptions = {},
): Promise<Map<string, SuiteResult>> {
  const results = new Map<string, SuiteResult>();
  const topology = await Topology.create({ hosts: 2, underlay: 'ipv4' });
  try {
    for (const [index, build] of builders.entries()) {
      try {
        const overlay = await build(topology);
        try {
          process.stderr.write(`measuring ${overlay.name}…\n`);
          results.set(overlay.name, await measureOverlay(overlay, suite));
        } finally {
          await overlay.destroy();
        }
      } catch (error) {
        if (!opts.onRowError) throw error;
        opts.onRowError(index, error);
      }
    }
  } finally {
    await topology.destroy();
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' }, json: { type: 'string' } },
  });
  if (!haveRoot() || !haveTools('ip', 'iperf3', 'ping', 'wireguard-go', ...NEBULA_TOOLS)) {
    throw new Error('bench/baselines.ts needs root, iproute2, iperf3, ping, wireguard-go and nebula');
  }
  cleanStaleRuns();
  const results = await measureAll([underlayPath, kernelVxlanOverlay, wireguardOverlay, nebulaOverlay], {
    runs: Number(values.runs),
    seconds: Number(values.seconds),
  });
  const rows = [...results].map(([name, r]) => ({ name, values: r }));
  console.log(`${renderTable(SUITE_COLUMNS, rows, BASELINE_ROW)}\n\n${CPU_FOOTNOTE}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(Object.fromEntries(results), null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}

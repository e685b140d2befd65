/**
 * What a series of attaches on one cluster size comes to: median and worst
 * convergence (the figures), the distribution of every probe's
 * first reply, and where the time went (the attach command itself versus
 * the spread after the agent committed).
 */
import { median } from '../stats.js';
import type { MetricColumn, ResultRow } from '../table.js';
import type { AttachSample } from './attach-round.js';

/** Keys of the summary table's columns. */
export type SummaryKey = 'median' | 'worst' | 'probeP50' | 'probeP90' | 'probeMax' | 'ctlStartup' | 'committed' | 'spread' | 'unanswered';

/** The summary table's columns. */
export const SUMMARY_COLUMNS: readonly MetricColumn<SummaryKey>[] = [
  { key: 'median', title: 'converged, median (ms)', digits: 0 },
  { key: 'worst', title: 'converged, worst (ms)', digits: 0 },
  { key: 'probeP50', title: 'per-probe first reply p50 (ms)', digits: 0 },
  { key: 'probeP90', title: 'p90 (ms)', digits: 0 },
  { key: 'probeMax', title: 'max (ms)', digits: 0 },
  { key: 'ctlStartup', title: 'overlayctl start-up (status), median (ms)', digits: 0 },
  { key: 'committed', title: 'agent committed, median (ms)', digits: 0 },
  { key: 'spread', title: 'commit → last reply, median (ms)', digits: 0 },
  { key: 'unanswered', title: 'unanswered probes', digits: 0 },
];

/** The `q`-quantile (0–1, nearest rank) of `values`; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * One table row for `samples` of one cluster size; `ctlStartupMs` is what
 * starting overlayctl cost meanwhile (measureCommandStartup). An attach that some probe
 * never answered makes the worst figure infinite (shown as "–") and is
 * counted in `unanswered`.
 */
export function summarise(name: string, samples: readonly AttachSample[], ctlStartupMs: number): ResultRow<SummaryKey> {
  const converged = samples.map((s) => s.convergedMs ?? Number.POSITIVE_INFINITY);
  const replies = samples.flatMap((s) => [...s.firstReplyMs.values()]);
  const answered = replies.filter((t): t is number => t !== undefined);
  const committed = samples.map((s) => s.committedMs).filter((t): t is number => t !== undefined);
  const spread = samples.flatMap((s) => (s.convergedMs !== undefined && s.committedMs !== undefined ? [s.convergedMs - s.committedMs] : []));
  return {
    name,
    values: {
      median: median(converged),
      worst: Math.max(...converged),
      probeP50: quantile(answered, 0.5),
      probeP90: quantile(answered, 0.9),
      probeMax: answered.length === replies.length ? Math.max(...answered) : Number.POSITIVE_INFINITY,
      ctlStartup: ctlStartupMs,
      committed: median(committed),
      spread: median(spread),
      unanswered: replies.length - answered.length,
    },
  };
}

/** One line per attach, for the log: host, timings, the slowest probes. */
export function describeSample(s: AttachSample): string {
  const fmt = (t: number | undefined): string => (t === undefined ? 'none' : `${t.toFixed(0)} ms`);
  const slowest = [...s.firstReplyMs.entries()]
    .sort((a, b) => (b[1] ?? Number.POSITIVE_INFINITY) - (a[1] ?? Number.POSITIVE_INFINITY))
    .slice(0, 3)
    .map(([host, t]) => `h${host} ${fmt(t)}`)
    .join(', ');
  const answered = [...s.firstReplyMs.values()].filter((t): t is number => t !== undefined);
  return (
    `attach ${s.round + 1} on host ${s.host} (${s.ip}): committed ${fmt(s.committedMs)}, command returned ${fmt(s.attachReturnedMs)}, ` +
    `first probe ${fmt(answered.length ? Math.min(...answered) : undefined)}, all ${fmt(s.convergedMs)}; slowest: ${slowest}`
  );
}

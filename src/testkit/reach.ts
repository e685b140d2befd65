/**
 * Reachability between namespaces without ping: the perf worker
 * (src/agent/perf/worker.ts) answers UDP echoes in each target namespace,
 * and one run in the source probes every target at once and says which
 * echoed back, and in what time. Needs nothing but node and ip (and the build: dist/).
 */
import { join, resolve } from 'node:path';
import { nsExec, nsSpawn } from './netns.js';
import type { ManagedProcess } from './process.js';

/** The built worker, as agents.ts runs the built overlayd (`npm run build` first). */
export const PERF_WORKER = join(resolve(import.meta.dirname, '../..'), 'dist/src/agent/perf/worker.js');

/** What one check found. */
export interface ReachResult {
  to: string;
  reachable: boolean;
  /** Round trip of the echo in ms (0 when unreachable). */
  rttMs: number;
}

/** Echo responders in a set of namespaces; `stop()` ends them (they also end by themselves after `maxSeconds`). */
export interface EchoResponders {
  stop(): Promise<void>;
}

/** Starts the worker's echo (UDP 5202) and sink (TCP 5201) in each namespace; resolves once all listen. */
export async function startEchoes(namespaces: readonly string[], maxSeconds = 300): Promise<EchoResponders> {
  const procs: ManagedProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop('SIGTERM', 1000)));
  };
  try {
    for (const ns of namespaces) procs.push(nsSpawn(ns, [process.execPath, PERF_WORKER, 'serve', '--max-seconds', String(maxSeconds)]));
    await Promise.all(procs.map((p) => p.waitForLine(/^ready$/, 10_000)));
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** Which of `targets` echo back to namespace `ns` within `waitMs`, probed at once (responders must run there: startEchoes). */
export async function reach(ns: string, targets: readonly string[], waitMs = 2000): Promise<ReachResult[]> {
  const r = await nsExec(ns, [process.execPath, PERF_WORKER, 'reach', '--to', targets.join(','), '--wait-ms', String(waitMs)], { timeoutMs: waitMs + 15_000 });
  return (JSON.parse(r.stdout.trim()) as { results: ReachResult[] }).results;
}

/**
 * The identity of one test run. Every namespace and link the harness makes
 * is named `ovt` + run id + …, so one run's objects are found (leak check)
 * and removed (clean-up, stale runs) by prefix.
 *
 * A run spans processes: vitest runs each test file in its own worker. The
 * global setup (global-setup.ts) fixes the id in the environment variable
 * {@link RUN_ID_ENV} before workers start; a process without it (a bench
 * script, the demo) uses an id made from its own pid.
 *
 * Each run writes a small record to {@link RUN_RECORD_DIR} naming the process
 * that owns it; {@link cleanStaleRuns} removes what runs whose owner is gone
 * left behind, and never touches a name it has no record for.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { onProcessExit } from './exit-hooks.js';
import { removeByPrefixSync, type PrefixedResources } from './resources.js';

/** The environment variable that carries the run id to worker processes. */
export const RUN_ID_ENV = 'OVT_RUN_ID';
/** Where run records live (tmpfs: a reboot forgets runs, as it forgets namespaces). */
export const RUN_RECORD_DIR = '/run/ovt-runs';
/** Every harness name starts with this. */
export const NAME_ROOT = 'ovt';
/** Run ids are this many base-36 digits, so one run's prefix is never the start of another's. */
export const RUN_ID_LENGTH = 5;

const RUN_ID_PATTERN = new RegExp(`^[0-9a-z]{${RUN_ID_LENGTH}}$`);

interface RunRecord {
  pid: number;
  /** Kernel start time of `pid` (clock ticks since boot), so a reused pid is not mistaken for the owner. */
  startTicks: number;
}

/**
 * The run id: {@link RUN_ID_ENV} when set, else the base-36 pid of this
 * process, 5 digits. Sets the variable so child processes share the id.
 */
export function runId(): string {
  const fromEnv = process.env[RUN_ID_ENV];
  if (fromEnv !== undefined && RUN_ID_PATTERN.test(fromEnv)) return fromEnv;
  const id = process.pid.toString(36).padStart(RUN_ID_LENGTH, '0');
  process.env[RUN_ID_ENV] = id;
  return id;
}

/** `ovt` + {@link runId}: the start of every name this run creates. */
export function runPrefix(): string {
  return NAME_ROOT + runId();
}

/**
 * Records this process as the owner of the run unless a record exists
 * already (a worker of a vitest run whose global setup wrote it); the record
 * is deleted when this process exits. Idempotent.
 */
export function claimRun(): void {
  const path = recordPath(runId());
  if (readRecord(path)) return;
  mkdirSync(RUN_RECORD_DIR, { recursive: true });
  const record: RunRecord = { pid: process.pid, startTicks: processStartTicks(process.pid) ?? 0 };
  writeFileSync(path, JSON.stringify(record));
  onProcessExit(releaseRun);
}

/** Deletes this run's record (after its clean-up). */
export function releaseRun(): void {
  rmSync(recordPath(runId()), { force: true });
}

/**
 * For every recorded run whose owner process no longer exists, removes all
 * namespaces, links and UAPI sockets with its prefix, then its record.
 * Returns what was removed, by run id.
 */
export function cleanStaleRuns(): Map<string, PrefixedResources> {
  const removed = new Map<string, PrefixedResources>();
  let files: string[] = [];
  try {
    files = readdirSync(RUN_RECORD_DIR);
  } catch {
    return removed;
  }
  for (const file of files) {
    const id = file.replace(/\.json$/, '');
    if (!RUN_ID_PATTERN.test(id) || id === runId()) continue;
    const record = readRecord(recordPath(id));
    if (record && isAlive(record)) continue;
    removed.set(id, removeByPrefixSync(NAME_ROOT + id));
    rmSync(recordPath(id), { force: true });
  }
  return removed;
}

function recordPath(id: string): string {
  return `${RUN_RECORD_DIR}/${id}.json`;
}

function readRecord(path: string): RunRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<RunRecord>;
    if (typeof parsed.pid !== 'number' || typeof parsed.startTicks !== 'number') return undefined;
    return { pid: parsed.pid, startTicks: parsed.startTicks };
  } catch {
    return undefined;
  }
}

function isAlive(record: RunRecord): boolean {
  const ticks = processStartTicks(record.pid);
  return ticks !== undefined && (record.startTicks === 0 || ticks === record.startTicks);
}

/** Field 22 of /proc/<pid>/stat (start time), or undefined when the process does not exist. */
function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const value = Number(fields[19]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

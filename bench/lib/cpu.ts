/**
 * CPU time from /proc, for the benchmark's cost column: the user + system
 * time of a process (all its threads: /proc/PID/stat of the thread-group
 * leader counts every thread), the kernel's softirq time (/proc/stat, the
 * `cpu` line is the sum over all CPUs), and finding the real process of a
 * tunnel under a wrapper (`ip netns exec` execs in place, but `nsenter` or a
 * shell would not).
 *
 * Times are in clock ticks in /proc; the functions here return seconds.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second (`getconf CLK_TCK`), 100 when it cannot be asked. */
export const CLOCK_TICKS: number = readClockTicks();

/** The fields of /proc/PID/stat the benchmark uses. */
export interface ProcStat {
  pid: number;
  /** The executable's name (`comm`, at most 15 characters). */
  comm: string;
  ppid: number;
  /** User time, clock ticks, all threads. */
  utime: number;
  /** System time, clock ticks, all threads. */
  stime: number;
}

/**
 * Parses one /proc/PID/stat line. `comm` is in parentheses and may hold
 * spaces or parentheses itself, so the fields are counted from the last ')'.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/PID/stat line: ${text.slice(0, 80)}`);
  // After ")": state(3) ppid(4) pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) …
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const field = (n: number): number => Number(rest[n - 3]);
  const stat = { pid: Number(text.slice(0, open)), comm: text.slice(open + 1, close), ppid: field(4), utime: field(14), stime: field(15) };
  if (![stat.pid, stat.ppid, stat.utime, stat.stime].every(Number.isFinite)) throw new Error(`bad /proc/PID/stat line: ${text.slice(0, 80)}`);
  return stat;
}

/** Reads /proc/`pid`/stat; throws when the process is gone. */
export function readProcStat(pid: number): ProcStat {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** User + system CPU seconds process `pid` (all its threads) has used so far. */
export function processCpuSeconds(pid: number): number {
  const s = readProcStat(pid);
  return (s.utime + s.stime) / CLOCK_TICKS;
}

/** The softirq column of the aggregate `cpu` line of /proc/stat (all CPUs), in clock ticks. */
export function parseSoftirqTicks(procStat: string): number {
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const line = procStat.split('\n').find((l) => /^cpu\s/.test(l));
  const ticks = Number(line?.trim().split(/\s+/)[7]);
  if (!Number.isFinite(ticks)) throw new Error('/proc/stat has no aggregate cpu line with a softirq column');
  return ticks;
}

/** CPU seconds spent in softirq context on all CPUs since boot. */
export function softirqCpuSeconds(): number {
  return parseSoftirqTicks(readFileSync('/proc/stat', 'utf8')) / CLOCK_TICKS;
}

/** The command line of process `pid` as argv ([] when it is gone or a kernel thread). */
export function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The pids of every living descendant of `pid` (children first, then theirs), from the ppid of each /proc entry. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: ProcStat;
    try {
      stat = readProcStat(Number(entry));
    } catch {
      continue; // exited while we looked
    }
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat.pid]);
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const next = children.get(queue.shift() ?? -1) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/**
 * The real process of a tunnel started through a wrapper: `pid` itself when
 * its command line satisfies `isTunnel`, otherwise the first descendant
 * whose does. Throws when neither does (or `pid` is undefined: the spawn failed).
 */
export function findTunnelProcess(pid: number | undefined, isTunnel: (argv: readonly string[]) => boolean, what: string): number {
  if (pid !== undefined) for (const candidate of [pid, ...descendants(pid)]) if (isTunnel(readCmdline(candidate))) return candidate;
  throw new Error(`no ${what} process at or under pid ${pid}`);
}

/** A test for {@link findTunnelProcess}: the program run (argv[0]) is `name`, by path or by name. */
export function isProgram(name: string): (argv: readonly string[]) => boolean {
  return (argv) => argv[0] === name || (argv[0] ?? '').endsWith(`/${name}`);
}

/** A function giving the CPU seconds `pids` have used so far together (for BenchOverlay.cpuSeconds). */
export function processesCpuSeconds(pids: readonly number[]): () => number {
  return () => pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
}

/** What {@link measureCpu} saw: CPU seconds used and wall seconds passed while `run` ran. */
export interface CpuUsage<T> {
  result: T;
  cpuSeconds: number;
  wallSeconds: number;
  /** cpuSeconds / wallSeconds: how many cores were busy on average. */
  cores: number;
}

/** Runs `run`, sampling `cpuSeconds` (cumulative) just before and just after it. */
export async function measureCpu<T>(cpuSeconds: () => number, run: () => Promise<T>): Promise<CpuUsage<T>> {
  const cpu0 = cpuSeconds();
  const wall0 = performance.now();
  const result = await run();
  const wallSeconds = (performance.now() - wall0) / 1000;
  const used = cpuSeconds() - cpu0;
  return { result, cpuSeconds: used, wallSeconds, cores: used / wallSeconds };
}

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

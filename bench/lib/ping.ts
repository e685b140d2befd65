/**
 * Round-trip time with ping: `-c N -i <interval>` from one namespace, every
 * reply's time parsed, so the result has the per-packet median as well as
 * ping's own min/avg/max/mdev summary.
 */
import { isHarnessError, nsExec } from '../../src/testkit/netns.js';
import { median } from './stats.js';

/** One ping series. */
export interface PingOptions {
  /** Namespace to ping from. */
  ns: string;
  /** Address to ping (IPv4 or IPv6). */
  target: string;
  /** Echo requests to send. Default 100. */
  count?: number;
  /** Seconds between requests. Default 0.01. */
  intervalS?: number;
  /** ICMP payload bytes (`-s`). Default ping's 56. */
  payload?: number;
}

/** Round-trip times in milliseconds. */
export interface PingResult {
  sent: number;
  received: number;
  /** Median of the per-reply times. */
  medianMs: number;
  minMs: number;
  avgMs: number;
  maxMs: number;
  /** ping's mean deviation. */
  mdevMs: number;
}

/** Runs one ping series; replies that do not come back count as lost, not as failure. */
export async function runPing(opts: PingOptions): Promise<PingResult> {
  const count = opts.count ?? 100;
  const interval = opts.intervalS ?? 0.01;
  const cmd = ['ping', '-n', '-c', String(count), '-i', String(interval), '-W', '2', opts.target];
  if (opts.payload !== undefined) cmd.splice(1, 0, '-s', String(opts.payload));
  const timeoutMs = (count * interval + 10) * 1000;
  const stdout = await nsExec(opts.ns, cmd, { timeoutMs }).then(
    (r) => r.stdout,
    (e: unknown) => (isHarnessError(e, 'COMMAND_FAILED') && e.exitCode === 1 ? (e.stdout ?? '') : Promise.reject(e)),
  );
  return parsePing(stdout);
}

/** Parses ping's output (iputils): `time=` of each reply and the `rtt min/avg/max/mdev` line. */
export function parsePing(text: string): PingResult {
  const times = [...text.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  const summary = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(text);
  return {
    sent: Number(counts?.[1] ?? 0),
    received: Number(counts?.[2] ?? 0),
    medianMs: median(times),
    minMs: Number(summary?.[1] ?? Number.NaN),
    avgMs: Number(summary?.[2] ?? Number.NaN),
    maxMs: Number(summary?.[3] ?? Number.NaN),
    mdevMs: Number(summary?.[4] ?? Number.NaN),
  };
}

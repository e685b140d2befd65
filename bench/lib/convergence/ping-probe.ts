/**
 * One prober: `ping -D` from a container namespace towards an address that
 * does not answer yet, sending every few milliseconds until the first echo
 * reply (`-c 1`) or a deadline (`-w`). `-D` stamps each reply line with the
 * wall-clock time of its arrival, so reading ping's output late does not
 * change what is measured.
 *
 * While the address is unknown, the kernel queues the echo requests on the
 * unresolved neighbour entry and retries ARP at the namespace's retry
 * interval (neighbour-timers.ts); the first reply therefore comes one
 * ARP retry at most after the overlay can carry it.
 */
import type { ManagedProcess } from '../../../src/testkit/process.js';
import type { Topology } from '../../../src/testkit/topology.js';
import { ConvergenceError } from './errors.js';

/** Options of {@link PingProbe.start}. */
export interface PingProbeOptions {
  /** Namespace to ping from. */
  ns: string;
  /** Address to ping. */
  target: string;
  /** Milliseconds between echo requests (ping's `-i`). */
  intervalMs: number;
  /** Seconds after which ping gives up (`-w`); bounds the probe. */
  deadlineS: number;
}

/** How long ping may take to start and print its header. */
const START_TIMEOUT_MS = 15_000;

const REPLY_LINE = /^\[(\d+\.\d+)\] \d+ bytes from /;

/** A running ping waiting for its first reply. */
export class PingProbe {
  private constructor(
    /** The ping process. */
    private readonly process: ManagedProcess,
    /** What it pings from and to. */
    readonly options: PingProbeOptions,
  ) {}

  /** Starts ping in `options.ns`; resolves once it is sending (it printed its `PING` header). */
  static async start(topology: Topology, options: PingProbeOptions): Promise<PingProbe> {
    // ping flushes its output only with a reply line: line-buffer it so the header shows it has started.
    const cmd = ['stdbuf', '-oL', 'ping', '-n', '-D', '-i', (options.intervalMs / 1000).toFixed(3), '-c', '1', '-w', String(options.deadlineS), options.target];
    const proc = topology.spawn(options.ns, cmd);
    try {
      await proc.waitForLine(/^PING /, START_TIMEOUT_MS);
    } catch (err) {
      proc.killSync();
      throw new ConvergenceError('PROBE_NOT_READY', `ping from ${options.ns} to ${options.target} did not start`, { cause: err });
    }
    return new PingProbe(proc, options);
  }

  /**
   * Wall-clock time (ms since the epoch, as `Date.now()`) of the first echo
   * reply, or `undefined` if ping ended at its deadline without one.
   */
  async firstReplyAt(): Promise<number | undefined> {
    await this.process.exited;
    for (const line of this.process.output) {
      const m = REPLY_LINE.exec(line);
      if (m) return Number(m[1]) * 1000;
    }
    return undefined;
  }

  /** Stops ping if it still runs. */
  async stop(): Promise<void> {
    await this.process.stop('SIGINT', 1000);
  }
}

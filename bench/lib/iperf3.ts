/**
 * iperf3 between two namespaces: a one-shot server (`-s -1`) in one, the
 * client with JSON output (`-J`) in the other. TCP reports the receiver's
 * goodput; UDP (`-u -l <len> -b 0`: as fast as the sender can) reports the
 * packets that arrived per second — with 64-byte payloads, a packet rate.
 */
import { HarnessError, isHarnessError, nsExec, nsSpawn } from '../../src/testkit/netns.js';

/** One iperf3 test. */
export interface Iperf3Options {
  /** Namespace of the server (the receiver). */
  serverNs: string;
  /** Address the server listens on and the client connects to. */
  serverAddr: string;
  /** Namespace of the client (the sender). */
  clientNs: string;
  /** Test length in seconds (`-t`). */
  seconds: number;
  /** Parallel streams (`-P`). Default 1. */
  streams?: number;
  /** `tcp` (default) or `udp`. */
  protocol?: 'tcp' | 'udp';
  /** UDP payload length in bytes (`-l`). Default 64. */
  udpPayload?: number;
  /** UDP target bitrate (`-b`); 0 = unlimited (default). */
  udpBitrate?: string;
  /** Server port. Default 5201. */
  port?: number;
  /**
   * Wraps the client run only (the server is already listening), e.g. to
   * sample CPU time just around the test. Default: runs it as is.
   */
  around?: <T>(client: () => Promise<T>) => Promise<T>;
}

/** What one iperf3 test measured, on the receiving side. */
export interface Iperf3Result {
  /** Received payload bits per second. */
  bitsPerSecond: number;
  /** The same in Gbit/s. */
  gbps: number;
  /** Packets received per second (UDP only; NaN for TCP). */
  packetsPerSecond: number;
  /** UDP: share of datagrams lost (0–100); TCP: NaN. */
  lostPercent: number;
  /** TCP: sender retransmissions; UDP: NaN. */
  retransmits: number;
}

interface Iperf3Sum {
  seconds: number;
  bits_per_second: number;
  packets?: number;
  lost_packets?: number;
  lost_percent?: number;
  retransmits?: number;
}

interface Iperf3Json {
  error?: string;
  end?: { sum_received?: Iperf3Sum; sum_sent?: Iperf3Sum };
}

/** Runs one iperf3 test and parses its JSON report. */
export async function runIperf3(opts: Iperf3Options): Promise<Iperf3Result> {
  const port = String(opts.port ?? 5201);
  const server = nsSpawn(opts.serverNs, ['iperf3', '-s', '-1', '--forceflush', '-B', opts.serverAddr, '-p', port]);
  try {
    await server.waitForLine(/Server listening/, 10_000);
    const args = ['iperf3', '-c', opts.serverAddr, '-p', port, '-J', '-t', String(opts.seconds), '-P', String(opts.streams ?? 1)];
    if (opts.protocol === 'udp') args.push('-u', '-l', String(opts.udpPayload ?? 64), '-b', opts.udpBitrate ?? '0');
    const client = (): Promise<string> => nsExec(opts.clientNs, args, { timeoutMs: (opts.seconds * 3 + 30) * 1000 }).then(
      (r) => r.stdout,
      // iperf3 -J reports its own errors as JSON on stdout and exits 1: let parseIperf3 quote them.
      (e: unknown) => (isHarnessError(e, 'COMMAND_FAILED') && e.stdout ? e.stdout : Promise.reject(e)),
    );
    const stdout = await (opts.around ? opts.around(client) : client());
    return parseIperf3(stdout, opts.protocol ?? 'tcp');
  } finally {
    await server.stop('SIGTERM', 2000);
  }
}

/** Extracts the receiver-side figures from `iperf3 -J` output. */
export function parseIperf3(json: string, protocol: 'tcp' | 'udp'): Iperf3Result {
  let report: Iperf3Json;
  try {
    report = JSON.parse(json) as Iperf3Json;
  } catch (error) {
    throw new HarnessError('COMMAND_FAILED', `iperf3 output is not JSON: ${json.slice(0, 200)}`, { cause: error });
  }
  const received = report.end?.sum_received;
  if (report.error || !received) {
    throw new HarnessError('COMMAND_FAILED', `iperf3 reported ${report.error ?? 'no end.sum_received'}`);
  }
  const bitsPerSecond = received.bits_per_second;
  if (protocol === 'tcp') {
    return {
      bitsPerSecond,
      gbps: bitsPerSecond / 1e9,
      packetsPerSecond: Number.NaN,
      lostPercent: Number.NaN,
      retransmits: report.end?.sum_sent?.retransmits ?? Number.NaN,
    };
  }
  const arrived = (received.packets ?? 0) - (received.lost_packets ?? 0);
  return {
    bitsPerSecond,
    gbps: bitsPerSecond / 1e9,
    packetsPerSecond: arrived / received.seconds,
    lostPercent: received.lost_percent ?? Number.NaN,
    retransmits: Number.NaN,
  };
}

/**
 * What a benchmark needs from an overlay, whatever builds it (kernel VXLAN,
 * wireguard-go, overlayd): two endpoints in container namespaces on
 * different hosts, and a way to take it down. `measureOverlay` runs the
 * standard suite on any of them, so all rows of a table are measured alike.
 */
import { measureCpu } from './cpu.js';
import { runIperf3, type Iperf3Options } from './iperf3.js';
import { runPing } from './ping.js';
import { median, repeat } from './stats.js';

/** One end of an overlay: a namespace and its overlay address. */
export interface OverlayEndpoint {
  /** Network namespace of the endpoint (a "container"). */
  ns: string;
  /** Its IPv4 address on the overlay. */
  addr4: string;
}

/** An overlay (or plain underlay) under test. */
export interface BenchOverlay {
  /** Row name in result tables. */
  readonly name: string;
  /** Sender side. */
  readonly client: OverlayEndpoint;
  /** Receiver side (runs the iperf3 server, answers pings). */
  readonly server: OverlayEndpoint;
  /**
   * CPU seconds the overlay's tunnel has used so far (cumulative; only
   * differences count): user + system time of its processes for a
   * userspace tunnel, the kernel's softirq time for the kernel's own. The
   * suite samples it around the TCP ×1 test. Absent: no CPU figures.
   */
  cpuSeconds?(): number;
  /** Removes everything the builder created (not the topology). Idempotent. */
  destroy(): Promise<void>;
}

/** Options of {@link measureOverlay}. */
export interface SuiteOptions {
  /** Repetitions of each measurement; the median is reported. Default 3. */
  runs?: number;
  /** iperf3 test length in seconds. Default 5. */
  seconds?: number;
  /** Echo requests per ping series. Default 200. */
  pings?: number;
}

/** Medians of the standard suite. */
export interface SuiteResult {
  /** TCP, 1 stream, Gbit/s. */
  tcp1Gbps: number;
  /** TCP, 4 streams, Gbit/s. */
  tcp4Gbps: number;
  /** UDP, 64-byte payloads, unlimited rate: thousands of packets received per second. */
  udp64Kpps: number;
  /** ICMP echo round trip, median of per-packet times, microseconds. */
  rttUs: number;
  /** CPU cores the tunnel kept busy during TCP ×1 (CPU seconds / wall seconds); NaN without {@link BenchOverlay.cpuSeconds}. */
  tcp1Cores: number;
  /** TCP ×1 throughput per busy core: Gbit/s ÷ tcp1Cores, per run; NaN without CPU figures. */
  tcp1GbpsPerCore: number;
  /** Every run's raw figure, for the record. */
  raw: {
    tcp1Gbps: number[];
    tcp4Gbps: number[];
    udp64Kpps: number[];
    rttUs: number[];
    tcp1Cores: number[];
    tcp1GbpsPerCore: number[];
  };
}

/** Runs TCP ×1, TCP ×4, UDP 64-byte and ping `runs` times each from client to server. */
export async function measureOverlay(overlay: BenchOverlay, opts: SuiteOptions = {}): Promise<SuiteResult> {
  const runs = opts.runs ?? 3;
  const seconds = opts.seconds ?? 5;
  const base = { serverNs: overlay.server.ns, serverAddr: overlay.server.addr4, clientNs: overlay.client.ns, seconds };
  // One warm-up ping fills neighbour caches and, for wireguard, completes the handshake.
  await runPing({ ns: overlay.client.ns, target: overlay.server.addr4, count: 3, intervalS: 0.2 });
  const tcp1 = await repeat(runs, () => tcpOneStream(overlay, base));
  const tcp1Gbps = tcp1.map((r) => r.gbps);
  const tcp1Cores = tcp1.map((r) => r.cores);
  const tcp1GbpsPerCore = tcp1.map((r) => r.gbps / r.cores);
  const tcp4Gbps = await repeat(runs, async () => (await runIperf3({ ...base, streams: 4 })).gbps);
  const udp64Kpps = await repeat(runs, async () => (await runIperf3({ ...base, protocol: 'udp', udpPayload: 64 })).packetsPerSecond / 1000);
  const rttUs = await repeat(runs, async () => {
    const result = await runPing({ ns: overlay.client.ns, target: overlay.server.addr4, count: opts.pings ?? 200 });
    return result.medianMs * 1000;
  });
  return {
    tcp1Gbps: median(tcp1Gbps),
    tcp4Gbps: median(tcp4Gbps),
    udp64Kpps: median(udp64Kpps),
    rttUs: median(rttUs),
    tcp1Cores: median(tcp1Cores),
    tcp1GbpsPerCore: median(tcp1GbpsPerCore),
    raw: { tcp1Gbps, tcp4Gbps, udp64Kpps, rttUs, tcp1Cores, tcp1GbpsPerCore },
  };
}

/** One TCP ×1 test; with a {@link BenchOverlay.cpuSeconds} hook, also the cores the tunnel kept busy while the client ran. */
async function tcpOneStream(overlay: BenchOverlay, base: Iperf3Options): Promise<{ gbps: number; cores: number }> {
  let cores = Number.NaN;
  const sample = overlay.cpuSeconds?.bind(overlay);
  const around = sample
    ? async <T>(client: () => Promise<T>): Promise<T> => {
        const usage = await measureCpu(sample, client);
        cores = usage.cores;
        return usage.result;
      }
    : undefined;
  const { gbps } = await runIperf3({ ...base, streams: 1, around });
  return { gbps, cores };
}

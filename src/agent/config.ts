/** The agent's configuration, as `overlayd`'s flags give it (DESIGN.md §4.1). */
import { ipFamily } from '../wire/index.js';

export interface AgentConfig {
  /** Node name, unique in the cluster. */
  name: string;
  /** Underlay address other hosts reach this one at: the VTEP and the gossip address. */
  advertiseAddr: string;
  /** Address the sockets bind to (default: the advertise address). */
  listenAddr: string;
  /** Gossip port, TCP and UDP (memberlist's 7946). */
  gossipPort: number;
  /** VXLAN port (IANA 4789). */
  dataPort: number;
  /** ESP-in-UDP port of encrypted networks with the `udp` carrier (RFC 3948's 4500). */
  espPort: number;
  /** Seconds between scheduled key rotations of encrypted networks (0: only on demand). */
  keyRotationIntervalS: number;
  /** Hosts to join at start, HOST[:PORT]. */
  join: string[];
  /** Gossip encryption key (16, 24 or 32 bytes), if any. */
  gossipKey?: Buffer;
  /** Where the agent keeps its state between runs. */
  stateDir: string;
  /** Unix socket of the control API. */
  socket: string;
  datapath: 'native' | 'js';
  /** Native data path worker threads (default: the online CPUs). */
  workers?: number;
  /** Native data path: µs of busy polling after traffic while a CPU is free (default 200; 0: off). */
  busyPollUs?: number;
  /** Native data path: workers SCHED_FIFO instead of nice −10. */
  realtimeWorkers?: boolean;
  /** HOST:PORT for Prometheus metrics, or undefined for none. */
  metricsAddr?: string;
  /** Seconds between VTEP probe rounds (`overlayctl peers`; default 1; 0: no probes, every peer `unknown`). */
  peerProbeIntervalS?: number;
  /**
   * Multicast networks: seconds between the querier's general queries
   * (default 125, RFC 3376 §8.2). The response time is 10 s or, for shorter
   * intervals, half the interval; memberships last 2 intervals + the response time.
   */
  queryIntervalS?: number;
  logLevel: string;
  /** Node identity (docs/identity.md): the cluster CA certificate, this node's certificate and key. */
  ca?: string;
  cert?: string;
  key?: string;
  /** Refuse unsigned entries of every node (else: of nodes that have a certificate). */
  requireSigned: boolean;
}

export const DEFAULTS = {
  gossipPort: 7946,
  dataPort: 4789,
  espPort: 4500,
  /** 12 hours, as Docker. */
  keyRotationIntervalS: 43_200,
  stateDir: '/var/lib/overlayd',
  socket: '/run/overlayd/overlayd.sock',
  datapath: 'native' as const,
  logLevel: 'info',
};

/** Most native workers (DP_MAX_WORKERS of native/tables/tables.h). */
export const MAX_WORKERS = 16;

/** The querier's timers of `c` (snooping.ts SnoopingTimings). */
export function snoopingTimings(c: Pick<AgentConfig, 'queryIntervalS'>): { queryIntervalMs: number; queryResponseMs: number } {
  const queryIntervalMs = (c.queryIntervalS ?? 125) * 1000;
  return { queryIntervalMs, queryResponseMs: Math.min(10_000, queryIntervalMs / 2) };
}

export class ConfigError extends Error {
  readonly code = 'BAD_CONFIG';
}

/** Checks what types alone cannot; throws ConfigError with a one-line reason. */
export function validateConfig(c: AgentConfig): AgentConfig {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(c.name)) throw new ConfigError(`invalid node name "${c.name}"`);
  if (ipFamily(c.advertiseAddr) === 0) throw new ConfigError(`--advertise-addr must be an IP address, got "${c.advertiseAddr}"`);
  if (ipFamily(c.listenAddr) === 0) throw new ConfigError(`--listen-addr must be an IP address, got "${c.listenAddr}"`);
  if (c.workers !== undefined && (!Number.isInteger(c.workers) || c.workers < 1 || c.workers > MAX_WORKERS)) {
    throw new ConfigError(`--workers must be 1..${MAX_WORKERS}, got ${c.workers}`);
  }
  if (c.busyPollUs !== undefined && (!Number.isInteger(c.busyPollUs) || c.busyPollUs < 0 || c.busyPollUs > 10_000)) {
    throw new ConfigError(`--busy-poll-us must be 0..10000, got ${c.busyPollUs}`);
  }
  for (const [flag, port] of [
    ['--gossip-port', c.gossipPort],
    ['--data-port', c.dataPort],
    ['--esp-port', c.espPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`${flag} must be 1..65535, got ${port}`);
  }
  if (c.espPort === c.dataPort) throw new ConfigError(`--esp-port and --data-port must differ (both ${c.dataPort})`);
  if (c.peerProbeIntervalS !== undefined && !(c.peerProbeIntervalS === 0 || (c.peerProbeIntervalS >= 0.1 && c.peerProbeIntervalS <= 60))) {
    throw new ConfigError(`--peer-probe-interval must be 0 (off) or 0.1..60 seconds, got ${c.peerProbeIntervalS}`);
  }
  if (c.queryIntervalS !== undefined && !(c.queryIntervalS >= 1 && c.queryIntervalS <= 3600)) {
    throw new ConfigError(`--query-interval must be 1..3600 seconds, got ${c.queryIntervalS}`);
  }
  if (!Number.isInteger(c.keyRotationIntervalS) || c.keyRotationIntervalS < 0) {
    throw new ConfigError(`--key-rotation-interval must be a whole number of seconds ≥ 0, got ${c.keyRotationIntervalS}`);
  }
  if (c.keyRotationIntervalS > 0 && c.keyRotationIntervalS < 60) throw new ConfigError('--key-rotation-interval below 60 s leaves no time for a key to spread');
  if (c.datapath !== 'native' && c.datapath !== 'js') throw new ConfigError(`--datapath must be native or js, got "${c.datapath}"`);
  if (c.gossipKey && ![16, 24, 32].includes(c.gossipKey.length)) {
    throw new ConfigError(`--gossip-key must be 16, 24 or 32 bytes, got ${c.gossipKey.length}`);
  }
  const identity = [c.ca, c.cert, c.key].filter((x) => x !== undefined).length;
  if (identity !== 0 && identity !== 3) throw new ConfigError('--ca, --cert and --key go together');
  if (c.requireSigned && !c.ca) throw new ConfigError('--require-signed needs --ca, --cert and --key');
  return c;
}

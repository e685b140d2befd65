/**
 * One measurement: a new container is attached on one host, and every other
 * host's probe container pings its address from just before the attach
 * command until the first echo reply. The attach's convergence time is the
 * last probe's first reply, counted from just before `overlayctl endpoint
 * attach` started — the time a user waits until the endpoint is reachable
 * from everywhere.
 *
 *   t0 ─ overlayctl endpoint attach ─► agent commits (its log line) ─► attach returns
 *     └─ probes on the other hosts: ARP retried every few ms ─► first reply (ping -D stamp)
 */
import type { Endpoint } from '../../../src/testkit/agents.js';
import type { ConvergenceCluster } from './cluster.js';
import { NETWORK } from './cluster.js';
import { fastNeighbourResolution } from './neighbour-timers.js';
import { PingProbe } from './ping-probe.js';
import { median } from '../stats.js';

/** Options of {@link measureAttach}. */
export interface AttachRoundOptions {
  /** 0-based round number: picks the host and the address. */
  round: number;
  /** Total rounds, to spread the hosts over the cluster. */
  rounds: number;
  /** Milliseconds between a probe's echo requests. */
  pingIntervalMs: number;
  /** Seconds a probe waits for its first reply before it counts as unanswered. */
  deadlineS: number;
}

/** What one attach measured. Times are milliseconds after t0 (just before the attach command). */
export interface AttachSample {
  round: number;
  /** Host the endpoint was attached on. */
  host: number;
  /** Its address. */
  ip: string;
  /** When `overlayctl endpoint attach` returned. */
  attachReturnedMs: number;
  /** When the agent committed (and announced) the endpoint, from its log; undefined if the line was not found. */
  committedMs: number | undefined;
  /** First reply per probe host (every host but `host`); undefined for a probe that got none before its deadline. */
  firstReplyMs: Map<number, number | undefined>;
  /** When the last probe got its first reply: the convergence time; undefined if any probe got none. */
  convergedMs: number | undefined;
}

/** Address of the endpoint attached in `round`. */
export const roundAddress = (round: number): string => `198.19.2.${round + 1}`;

/** Host of `round` among `hosts`: consecutive rounds land on hosts spread evenly over the cluster. */
export function roundHost(round: number, rounds: number, hosts: number): number {
  const step = Math.max(1, Math.floor(hosts / rounds));
  return 1 + ((round * step) % hosts);
}

/** Runs one attach and its probes; never leaves a ping running. */
export async function measureAttach(cluster: ConvergenceCluster, opts: AttachRoundOptions): Promise<AttachSample> {
  const host = roundHost(opts.round, opts.rounds, cluster.agents.length);
  const ip = roundAddress(opts.round);
  const agent = cluster.agent(host);
  const container = await cluster.container(host, `n${opts.round}`);
  const probers = cluster.probes.filter((p) => p.host !== host);
  const started = await Promise.allSettled(
    probers.map((p) => PingProbe.start(cluster.topology, { ns: p.ns, target: ip, intervalMs: opts.pingIntervalMs, deadlineS: opts.deadlineS })),
  );
  const probes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(probes.map((p) => p.stop()));
    throw failed.reason;
  }
  try {
    const t0 = Date.now();
    const ep = await agent.ctl<Endpoint>('endpoint', 'attach', NETWORK, '--netns', container.ns, '--ip', ip);
    const attachReturnedMs = Date.now() - t0;
    // Its replies need the probes' addresses resolved too: the same quick retries (best effort, after the fact).
    await fastNeighbourResolution(container.ns, ep.ifname, cluster.options.retransMs).catch(() => undefined);
    const replies = await Promise.all(probes.map((p) => p.firstReplyAt()));
    const firstReplyMs = new Map(probers.map((p, i) => [p.host, replies[i] === undefined ? undefined : replies[i]! - t0]));
    const times = [...firstReplyMs.values()];
    const convergedMs = times.every((t) => t !== undefined) ? Math.max(...(times as number[])) : undefined;
    return { round: opts.round, host, ip, attachReturnedMs, committedMs: commitTime(agent.process.output, ep.id, t0), firstReplyMs, convergedMs };
  } finally {
    await Promise.all(probes.map((p) => p.stop()));
  }
}

/**
 * What starting `overlayctl` costs on this machine now: the median wall time
 * of `count` `overlayctl status` calls on host 1's agent. Every attach pays
 * it before the agent hears the request, whatever the cluster size.
 */
export async function measureCommandStartup(cluster: ConvergenceCluster, count = 3): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = Date.now();
    await cluster.agent(1).ctl('status');
    times.push(Date.now() - t0);
  }
  return median(times);
}

/** The agent's "endpoint attached" log line for `endpointId` (pino JSON, `time` in epoch ms), relative to `t0`. */
function commitTime(lines: readonly string[], endpointId: string, t0: number): number | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line.includes(endpointId) || !line.includes('endpoint attached')) continue;
    try {
      const time = (JSON.parse(line) as { time?: unknown }).time;
      return typeof time === 'number' ? time - t0 : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

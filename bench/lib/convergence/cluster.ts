/**
 * The cluster a convergence run measures: one namespace host per agent on a
 * test topology (src/testkit/topology.ts), agent 1 started alone and every
 * other agent joining it by gossip (`--join`), one overlay network, and one
 * "probe" container attached on every host, so each host has a container to
 * ping a new endpoint from.
 *
 *   host 1: agent node1 ◄── --join ── node2 … nodeN
 *   every host: probe container, 198.19.1.<host>, fast ARP retries
 *   new endpoints (attach-round.ts): 198.19.2.<round + 1>
 *
 * Underlay neighbours are pinned first (underlay-neighbours.ts: the kernel's
 * ARP table is shared by all namespaces and too small for a 50-host mesh).
 * Agents are started in batches so that N node processes do not all load at
 * once on a small machine; set-up and tear-down are bounded in time.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { Topology, type ContainerNamespace } from '../../../src/testkit/topology.js';
import { removeAgentDirs, startAgents, type AgentHandle, type Endpoint } from '../../../src/testkit/agents.js';
import { callAgent, type MemberView, type NeighView } from './agent-api.js';
import { ConvergenceError } from './errors.js';
import { fastNeighbourResolution } from './neighbour-timers.js';
import { pinUnderlayNeighbours } from './underlay-neighbours.js';

/** Name of the benchmark's overlay network. */
export const NETWORK = 'conv';
/** Its subnet: probes in 198.19.1.0/24, measured endpoints in 198.19.2.0/24. */
export const SUBNET = '198.19.0.0/16';
/** Most hosts (and attaches) the address plan holds. */
export const MAX_HOSTS = 250;

/** Address of the probe container on host `host` (1-based). */
export const probeAddress = (host: number): string => `198.19.1.${host}`;

/** Options of {@link ConvergenceCluster.start}. */
export interface ClusterOptions {
  /** Number of agents, one per host namespace (2–{@link MAX_HOSTS}). */
  agents: number;
  /** Data path of every agent. */
  datapath: 'native' | 'js';
  /** Neighbour retry interval set in the probe containers, ms. */
  retransMs: number;
  /** Agents started at once after the first. */
  startBatch: number;
  /** Progress messages. */
  log: (message: string) => void;
  /** Extra overlayd flags for the agent of host `index` with underlay address `addr` (`--signed`: its certificate). */
  hostArgs?: (index: number, addr: string) => string[];
}

/** A probe container: where the pings to a new endpoint come from. */
export interface Probe {
  /** Host it sits on (1-based). */
  host: number;
  /** Its namespace. */
  ns: string;
  /** Its overlay address. */
  ip: string;
}

const POLL_MS = 250;
/** Concurrent `overlayctl endpoint attach` calls while attaching the probes. */
const PROBE_ATTACH_CONCURRENCY = 5;

/** A running cluster of agents with probes attached; {@link destroy} removes everything. */
export class ConvergenceCluster {
  /** Probe per host, in host order. */
  readonly probes: Probe[] = [];
  private readonly containers: ContainerNamespace[] = [];
  private destroyed = false;

  private constructor(
    /** The namespace topology. */
    readonly topology: Topology,
    /** Agent per host, in host order. */
    readonly agents: AgentHandle[],
    /** The options it was built with. */
    readonly options: ClusterOptions,
  ) {}

  /** Builds the topology, starts and joins the agents, creates the network, attaches the probes. Cleans up on failure. */
  static async start(options: ClusterOptions): Promise<ConvergenceCluster> {
    const n = options.agents;
    if (!Number.isInteger(n) || n < 2 || n > MAX_HOSTS) throw new ConvergenceError('BAD_ARGUMENT', `agents must be 2–${MAX_HOSTS}, not ${n}`);
    const began = Date.now();
    const topology = await Topology.create({ hosts: n });
    const cluster = new ConvergenceCluster(topology, [], options);
    try {
      await pinUnderlayNeighbours(topology);
      options.log(`${n} hosts built (underlay neighbours pinned) in ${seconds(began)}`);
      await cluster.startAgents();
      options.log(`${n} agents started in ${seconds(began)}`);
      await cluster.waitForMembers();
      options.log(`every agent sees ${n} alive members after ${seconds(began)}`);
      await cluster.createNetwork();
      await cluster.attachProbes();
      options.log(`${n} probes attached and known everywhere after ${seconds(began)}`);
      return cluster;
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
  }

  /** The agent on host `host` (1-based). */
  agent(host: number): AgentHandle {
    const a = this.agents[host - 1];
    if (!a) throw new ConvergenceError('BAD_ARGUMENT', `no agent on host ${host}`);
    return a;
  }

  /** Creates container `name` on `host`; {@link destroy} removes it. */
  async container(host: number, name: string): Promise<ContainerNamespace> {
    const c = await this.topology.container(host, name);
    this.containers.push(c);
    return c;
  }

  /** Stops the agents, removes containers, namespaces and the agents' directories. Idempotent; never throws. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all(this.agents.map((a) => a.stop().catch(() => undefined)));
    for (const c of this.containers) await c.remove().catch(() => undefined);
    await this.topology.destroy();
    removeAgentDirs(this.agents);
    for (const dir of new Set(this.agents.map((a) => dirname(a.stateDir)))) rmSync(dir, { recursive: true, force: true });
  }

  private async startAgents(): Promise<void> {
    const { datapath, startBatch } = this.options;
    const extra = this.options.hostArgs;
    const hostArgs = extra && ((i: number) => extra(i, this.topology.host(i).addr4!));
    this.agents.push(...(await startAgents(this.topology, { datapath, hostArgs }, [1])));
    const join = ['--join', this.topology.host(1).addr4!];
    for (let first = 2; first <= this.options.agents; first += startBatch) {
      const batch = range(first, Math.min(first + startBatch - 1, this.options.agents));
      this.agents.push(...(await startAgents(this.topology, { datapath, extraArgs: join, hostArgs }, batch)));
    }
  }

  private async waitForMembers(): Promise<void> {
    const n = this.options.agents;
    const pending = new Set(this.agents);
    const seen = new Map<AgentHandle, string>();
    await waitUntil(`every agent to see ${n} alive members`, 30_000 + n * 1000, async () => {
      for (const a of [...pending]) {
        const members = await callAgent<MemberView[]>(a.socket, 'GET', '/v1/members');
        const alive = members.filter((m) => m.state === 'alive').length;
        if (alive === n) pending.delete(a);
        const others = members.filter((m) => m.state !== 'alive').map((m) => `${m.name} ${m.state}`);
        seen.set(a, `${a.name}: ${alive} alive${others.length ? ` (${others.slice(0, 5).join(', ')})` : ''}`);
      }
      return pending.size === 0;
    }, () => `${pending.size} agents still see fewer: ${[...pending].slice(0, 8).map((a) => seen.get(a) ?? a.name).join('; ')}`);
  }

  private async createNetwork(): Promise<void> {
    await this.agents[0]!.ctl('network', 'create', NETWORK, '--subnet', SUBNET);
    const pending = new Set(this.agents);
    await waitUntil(`network ${NETWORK} on every agent`, 30_000, async () => {
      for (const a of [...pending]) {
        const nets = await callAgent<{ name: string }[]>(a.socket, 'GET', '/v1/networks');
        if (nets.some((x) => x.name === NETWORK)) pending.delete(a);
      }
      return pending.size === 0;
    }, () => `missing on ${[...pending].map((a) => a.name).join(', ')}`);
  }

  private async attachProbes(): Promise<void> {
    const hosts = range(1, this.options.agents);
    for (let i = 0; i < hosts.length; i += PROBE_ATTACH_CONCURRENCY) {
      await Promise.all(hosts.slice(i, i + PROBE_ATTACH_CONCURRENCY).map((h) => this.attachProbe(h)));
    }
    this.probes.sort((a, b) => a.host - b.host);
    // Every agent must hold every probe before the first measurement.
    const want = new Set(this.probes.map((p) => p.ip));
    const pending = new Set(this.agents);
    await waitUntil('every probe in every neighbour table', 60_000, async () => {
      for (const a of [...pending]) {
        const rows = await callAgent<NeighView[]>(a.socket, 'GET', `/v1/neigh?network=${NETWORK}`);
        if (rows.filter((r) => want.has(r.ip)).length === want.size) pending.delete(a);
      }
      return pending.size === 0;
    }, () => `incomplete on ${[...pending].map((a) => a.name).slice(0, 10).join(', ')}`);
  }

  private async attachProbe(host: number): Promise<void> {
    const c = await this.container(host, 'p');
    const ip = probeAddress(host);
    const ep = await this.agent(host).ctl<Endpoint>('endpoint', 'attach', NETWORK, '--netns', c.ns, '--ip', ip);
    await fastNeighbourResolution(c.ns, ep.ifname, this.options.retransMs);
    this.probes.push({ host, ns: c.ns, ip });
  }
}

/** Polls `done` every 250 ms until it returns true; throws `CLUSTER_NOT_FORMED` after `timeoutMs`. */
async function waitUntil(what: string, timeoutMs: number, done: () => Promise<boolean>, detail: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await done()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > end) {
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new ConvergenceError('CLUSTER_NOT_FORMED', `timed out after ${timeoutMs} ms waiting for ${what}: ${detail()}${cause}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/**
 * overlayd agents on a test topology: one per host namespace, each with its
 * own state directory and control socket, driven through overlayctl --json as
 * a user's script would drive it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { nsExec } from './netns.js';
import type { EndpointRecord } from '../cluster/records.js';
import type { ManagedProcess } from './process.js';
import type { Topology } from './topology.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const OVERLAYD = join(ROOT, 'dist/src/cli/overlayd.cjs');
export const OVERLAYCTL = join(ROOT, 'dist/src/cli/overlayctl.js');

export interface AgentOptions {
  datapath: 'native' | 'js';
  /** Use the host's IPv6 underlay address. */
  ipv6?: boolean;
  /** The cluster's gossip key (`--gossip-key`, base64): needed for encrypted networks. */
  gossipKey?: string;
  extraArgs?: string[];
  /** Flags for one host's agent only (after extraArgs), e.g. its Docker plugin folder. */
  hostArgs?: (hostIndex: number) => string[];
}

export class AgentHandle {
  process!: ManagedProcess;

  constructor(
    readonly topology: Topology,
    readonly hostIndex: number,
    readonly name: string,
    readonly advertise: string,
    readonly stateDir: string,
    readonly socket: string,
    readonly options: AgentOptions,
  ) {}

  /** Path of overlayctl, for commands run by hand. */
  readonly ctlPath = OVERLAYCTL;

  get ns(): string {
    return this.topology.host(this.hostIndex).ns;
  }

  async start(): Promise<void> {
    const cmd = [
      process.execPath,
      OVERLAYD,
      '--name',
      this.name,
      '--advertise-addr',
      this.advertise,
      '--state-dir',
      this.stateDir,
      '--socket',
      this.socket,
      '--datapath',
      this.options.datapath,
      ...(this.options.gossipKey === undefined ? [] : ['--gossip-key', this.options.gossipKey]),
      ...(this.options.extraArgs ?? []),
      ...(this.options.hostArgs?.(this.hostIndex) ?? []),
    ];
    this.process = this.topology.spawn(this.ns, cmd);
    await this.process.waitForLine(/control API listening|overlayd: /, 20_000);
    const failed = this.process.log().match(/overlayd: .*/);
    if (failed) throw new Error(`agent ${this.name} failed to start: ${failed[0]}`);
  }

  /** Runs overlayctl against this agent; resolves with the result whatever the exit code. */
  ctlRaw(...args: string[]): Promise<RunResult> {
    return run([process.execPath, OVERLAYCTL, '--socket', this.socket, '--json', ...args]);
  }

  /** Runs overlayctl and parses its JSON; throws with its stderr on failure. */
  async ctl<T = unknown>(...args: string[]): Promise<T> {
    const r = await this.ctlRaw(...args);
    if (r.code !== 0) throw new Error(`overlayctl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as T;
  }

  async stop(): Promise<void> {
    await this.process?.stop('SIGTERM', 3000);
  }

  log(): string {
    return this.process?.log(80) ?? '';
  }
}

/** Starts one agent on each host of `topology` (or on the hosts listed in `only`); when one fails, stops the others and removes their folders. */
export async function startAgents(topology: Topology, options: AgentOptions, only?: number[]): Promise<AgentHandle[]> {
  const dir = mkdtempSync(join(tmpdir(), `${topology.prefix}-`));
  const hosts = topology.hosts.filter((h) => only === undefined || only.includes(h.index));
  const agents = hosts.map((h) => {
    const advertise = options.ipv6 ? h.addr6! : h.addr4!;
    return new AgentHandle(topology, h.index, `node${h.index}`, advertise, join(dir, `state${h.index}`), join(dir, `agent${h.index}.sock`), options);
  });
  const started = await Promise.allSettled(agents.map((a) => a.start()));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // The others may have started: stop them and remove the folders, so a failed start leaves nothing.
    await stopAll(agents);
    removeAgentDirs(agents);
    throw failed.reason;
  }
  return agents;
}

/**
 * Starts a gossip cluster: the agent of the first host listed, then the
 * others joining it; resolves once every agent sees all of them alive.
 */
export async function startCluster(topology: Topology, options: AgentOptions, hosts: number[], timeoutMs = 40_000): Promise<AgentHandle[]> {
  const [first, ...rest] = hosts;
  const agents = await startAgents(topology, options, [first]);
  try {
    const seed = options.ipv6 ? topology.host(first).addr6! : topology.host(first).addr4!;
    const extraArgs = [...(options.extraArgs ?? []), '--join', seed];
    if (rest.length > 0) agents.push(...(await startAgents(topology, { ...options, extraArgs }, rest)));
    await waitFor(`${hosts.length} members alive everywhere`, async () => {
      const views = await Promise.all(agents.map((a) => a.ctl<{ state: string }[]>('members'))); // all agents at once
      return views.every((members) => members.filter((m) => m.state === 'alive').length === hosts.length);
    }, timeoutMs);
    return agents;
  } catch (err) {
    await stopAll(agents);
    removeAgentDirs(agents);
    throw err;
  }
}

/** Stops agents all at once: each leaves the cluster on its own (a graceful leave takes up to a second). */
export async function stopAll(agents: readonly AgentHandle[]): Promise<void> {
  await Promise.all(agents.map((a) => a.stop()));
}

/** Removes the agents' state folders, and the folders startAgents made for them once empty. */
export function removeAgentDirs(agents: AgentHandle[]): void {
  for (const a of agents) {
    rmSync(a.stateDir, { recursive: true, force: true });
    rmSync(a.socket, { force: true }); // left behind by an agent killed with -9
  }
  for (const dir of new Set(agents.map((a) => dirname(a.stateDir)))) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty (another handle's state, or a socket still there) or gone already.
    }
  }
}

/**
 * The end of a test file: stops the agents, destroys the topology and removes
 * the agents' state folders. Either may be missing (a setup that failed half-way).
 */
export async function tearDown(topology: Topology | undefined, agents: readonly (AgentHandle | undefined)[] = []): Promise<void> {
  const started = agents.filter((a): a is AgentHandle => a !== undefined);
  await stopAll(started);
  await topology?.destroy();
  removeAgentDirs(started);
}

/** An endpoint as `overlayctl --json` prints it. */
export type Endpoint = EndpointRecord;

/** Enters every endpoint as a static peer on every other agent (no gossip yet). */
export async function crossPeer(agents: AgentHandle[], network: string, endpoints: Endpoint[]): Promise<void> {
  for (const a of agents) {
    for (const e of endpoints) {
      if (e.node === a.name) continue;
      const vtep = agents.find((x) => x.name === e.node)!.advertise;
      for (const ip of e.ips) await a.ctl('peer', 'add', network, '--ip', ip, '--mac', e.mac, '--vtep', vtep);
    }
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv and resolves with exit code and output, whatever the exit code. */
export function run(cmd: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd[0], cmd.slice(1), { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** ping from a namespace (whatever the outcome): exit code and output. */
export function pingRaw(ns: string, target: string, args: string[] = []): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', ns, 'ping', '-c', '2', '-i', '0.2', '-W', '2', ...args, target], 20_000);
}

/** ping from a namespace; resolves with the output, rejects when no reply came back. */
export async function ping(ns: string, target: string, args: string[] = []): Promise<string> {
  const r = await pingRaw(ns, target, args);
  if (r.code !== 0) throw new Error(`ping ${target} from ${ns} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/**
 * Polls `fn` every 250 ms until it returns a value other than undefined or
 * false, and resolves with it; a throw counts as not yet. After `timeoutMs`
 * rejects, naming `what` and the last error.
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export { nsExec };

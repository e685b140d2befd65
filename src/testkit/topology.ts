/**
 * A test network of hosts on one machine. Each host is a network namespace
 * with a veth into a bridge that lives in its own "switch" namespace, so the
 * root namespace's routes are never touched:
 *
 *     <p>h1 [<p>h1u 198.18.0.1/16, 2001:db8::1/64] ──veth── <p>h1s ┐
 *     <p>h2 [<p>h2u 198.18.0.2/16, 2001:db8::2/64] ──veth── <p>h2s ┼─ bridge <p>sw (in namespace <p>sw, nftables filter)
 *     …                                                              ┘
 *
 * `<p>` is the topology prefix: `ovt` + run id + a token (names.ts).
 * Everything is removed by `destroy()`, and by an exit hook if the process
 * ends first.
 */
import { HarnessError } from './errors.js';
import { nsExec, sh, type ExecOptions, type ExecResult } from './exec.js';
import { onProcessExit } from './exit-hooks.js';
import { nsSpawn, stopProcessesIn, stopProcessesWhere, type ManagedProcess, type SpawnOptions } from './process.js';
import { removeByPrefix, removeByPrefixSync, removeNamespace } from './resources.js';
import { claimRun, runPrefix } from './run.js';
import { TopologyNames } from './names.js';
import { startCapture, type CaptureOptions, type PacketCapture } from './capture.js';
import { SwitchFilter, type DropRuleOptions, type SwitchRule } from './switch-filter.js';

/** Address families of the underlay. */
export type UnderlayFamily = 'ipv4' | 'ipv6' | 'dual';

/** Options of {@link Topology.create}. */
export interface TopologyOptions {
  /** Number of hosts, 1–254. */
  hosts: number;
  /** Underlay address families. Default `ipv4`. */
  underlay?: UnderlayFamily;
  /** MTU of the underlay links. Default 1500. */
  mtu?: number;
}

/** One host of a topology. */
export interface HostInfo {
  /** 1-based index. */
  index: number;
  /** Its network namespace. */
  ns: string;
  /** Its underlay interface (inside `ns`). */
  iface: string;
  /** Underlay IPv4 address, 198.18.0.<index> (prefix length 16), when the underlay has IPv4. */
  addr4: string | undefined;
  /** Underlay IPv6 address, 2001:db8::<index in hex> (prefix length 64), when the underlay has IPv6. */
  addr6: string | undefined;
}

/** An extra namespace standing for a container on a host; the agent attaches it. */
export interface ContainerNamespace {
  /** Its network namespace (only `lo`, up). */
  ns: string;
  /** The host it belongs to (1-based). */
  hostIndex: number;
  /** Deletes the namespace (and kills what runs in it). Idempotent. */
  remove(): Promise<void>;
}

/** Prefix length of the IPv4 underlay. */
export const UNDERLAY_PREFIX4 = 16;
/** Prefix length of the IPv6 underlay. */
export const UNDERLAY_PREFIX6 = 64;

const TOKEN_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A running topology; see the module comment for its shape. */
export class Topology {
  /** The switch namespace (holds the bridge and the nftables filter). */
  readonly switchNs: string;
  private readonly filter: SwitchFilter;
  private readonly hostList: HostInfo[] = [];
  private destroyed = false;
  private readonly unregisterExitHook: () => void;

  private constructor(
    /** Names of everything in this topology. */
    readonly names: TopologyNames,
    /** The options it was made with, defaults applied. */
    readonly options: Required<TopologyOptions>,
  ) {
    this.switchNs = names.switchNs;
    this.filter = new SwitchFilter(this.switchNs, (h) => this.names.switchPort(this.host(h).index));
    this.unregisterExitHook = onProcessExit(() => void removeByPrefixSync(names.prefix));
  }

  /** Builds the switch and `hosts` hosts. On failure removes what it made and rethrows. */
  static async create(options: TopologyOptions): Promise<Topology> {
    const opts: Required<TopologyOptions> = { underlay: 'ipv4', mtu: 1500, ...options };
    if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > 254) {
      throw new HarnessError('BAD_ARGUMENT', `hosts must be 1–254, not ${opts.hosts}`);
    }
    claimRun();
    const names = await claimPrefix();
    const topology = new Topology(names, opts);
    try {
      await topology.buildSwitch();
      // The hosts at once: each is a handful of `ip` commands, mostly process start-up.
      const added = await Promise.allSettled(Array.from({ length: opts.hosts }, (_, i) => topology.addHost(i + 1)));
      const failed = added.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (error) {
      await topology.destroy();
      throw error;
    }
    return topology;
  }

  /** The prefix every name of this topology starts with. */
  get prefix(): string {
    return this.names.prefix;
  }

  /** All hosts, in index order. */
  get hosts(): readonly HostInfo[] {
    return this.hostList;
  }

  /** Host `i` (1-based). Throws `BAD_ARGUMENT` if there is no such host. */
  host(i: number): HostInfo {
    const host = this.hostList[i - 1];
    if (!host) throw new HarnessError('BAD_ARGUMENT', `no host ${i} (topology has ${this.hostList.length})`);
    return host;
  }

  /** Creates an empty namespace for container `name` on host `hostIndex` (lo up). */
  async container(hostIndex: number, name: string): Promise<ContainerNamespace> {
    this.assertLive();
    const host = this.host(hostIndex);
    const ns = this.names.containerNs(host.index, name);
    await sh(['ip', 'netns', 'add', ns]);
    await nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    let removed = false;
    return {
      ns,
      hostIndex: host.index,
      remove: async () => {
        if (removed) return;
        removed = true;
        await stopProcessesWhere((n) => n === ns);
        await removeNamespace(ns);
      },
    };
  }

  /** Runs a command in namespace `ns` (see {@link nsExec}). */
  exec(ns: string, cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return nsExec(ns, cmd, opts);
  }

  /** Starts a managed process in namespace `ns`; `destroy()` stops it (see {@link nsSpawn}). */
  spawn(ns: string, cmd: readonly string[], opts?: SpawnOptions): ManagedProcess {
    this.assertLive();
    return nsSpawn(ns, cmd, opts);
  }

  /** Starts a tcpdump capture on `iface` in `ns`; resolves when it listens (see {@link startCapture}). */
  capture(ns: string, iface: string, filter: string, opts: CaptureOptions): Promise<PacketCapture> {
    this.assertLive();
    return startCapture(ns, iface, filter, opts);
  }

  /** Drops `percent`% of underlay frames from hosts `from` to hosts `to` (default: all) at the switch. */
  dropRule(opts: DropRuleOptions): Promise<SwitchRule> {
    this.assertLive();
    return this.filter.drop(opts);
  }

  /** Cuts the underlay between host sets `a` and `b` (both directions); `remove()` heals it. */
  partition(a: readonly number[], b: readonly number[]): Promise<SwitchRule> {
    this.assertLive();
    return this.filter.partition(a, b);
  }

  /**
   * Stops the processes started in its namespaces, kills anything else still
   * inside them, deletes every namespace, link and UAPI socket with its
   * prefix. Idempotent; never throws.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await stopProcessesIn(this.prefix);
    await removeByPrefix(this.prefix);
    this.unregisterExitHook();
  }

  private assertLive(): void {
    if (this.destroyed) throw new HarnessError('DESTROYED', `topology ${this.prefix} was destroyed`);
  }

  private async buildSwitch(): Promise<void> {
    const ns = this.switchNs;
    await nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    await nsExec(ns, ['ip', 'link', 'add', this.names.switchBridge, 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0']);
    await nsExec(ns, ['ip', 'link', 'set', this.names.switchBridge, 'up']);
  }

  private async addHost(i: number): Promise<void> {
    const ns = this.names.hostNs(i);
    const iface = this.names.hostUnderlay(i);
    const port = this.names.switchPort(i);
    const mtu = String(this.options.mtu);
    const family = this.options.underlay;
    await sh(['ip', 'netns', 'add', ns]);
    // Created inside the switch namespace with its peer placed straight into the host: never in the root namespace.
    await nsExec(this.switchNs, ['ip', 'link', 'add', port, 'mtu', mtu, 'type', 'veth', 'peer', 'name', iface, 'mtu', mtu, 'netns', ns]);
    await nsExec(this.switchNs, ['ip', 'link', 'set', port, 'master', this.names.switchBridge, 'up']);
    await nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    const addr4 = family === 'ipv6' ? undefined : `198.18.0.${i}`;
    const addr6 = family === 'ipv4' ? undefined : `2001:db8::${i.toString(16)}`;
    if (addr4) await nsExec(ns, ['ip', 'addr', 'add', `${addr4}/${UNDERLAY_PREFIX4}`, 'dev', iface]);
    if (addr6) await nsExec(ns, ['ip', '-6', 'addr', 'add', `${addr6}/${UNDERLAY_PREFIX6}`, 'dev', iface, 'nodad']);
    await nsExec(ns, ['ip', 'link', 'set', iface, 'up']);
    this.hostList[i - 1] = { index: i, ns, iface, addr4, addr6 };
  }
}

/**
 * Picks a 2-character token and claims it by creating the switch namespace:
 * `ip netns add` fails if the name exists, so two topologies (even in two
 * processes of one run) cannot get the same prefix.
 */
async function claimPrefix(): Promise<TopologyNames> {
  const base = runPrefix();
  const start = Math.floor(Math.random() * TOKEN_ALPHABET.length ** 2);
  for (let attempt = 0; attempt < 16; attempt++) {
    const n = (start + attempt) % TOKEN_ALPHABET.length ** 2;
    const token = `${TOKEN_ALPHABET[Math.floor(n / TOKEN_ALPHABET.length)]}${TOKEN_ALPHABET[n % TOKEN_ALPHABET.length]}`;
    const names = new TopologyNames(base + token);
    try {
      await sh(['ip', 'netns', 'add', names.switchNs]);
      return names;
    } catch (error) {
      if (!/exists/i.test(String(error))) throw error;
    }
  }
  throw new HarnessError('BAD_ARGUMENT', `no free topology token under ${base} after 16 attempts`);
}

/**
 * containerd on a namespace host, as RUNTIMES.md found it works here:
 *
 *   nsenter --net=/run/netns/<host> unshare --mount --propagation private
 *     sh -c 'mount -t tmpfs … /run && exec containerd --config DIR/config.toml'
 *
 * Root, state and sockets live under one temp directory per instance; the
 * daemon sees a private /run (its shims' sockets stay there). `ctr run --cni`
 * reads /etc/cni/net.d and /opt/cni/bin and has no flags for either, so every
 * `ctr run` gets a mount namespace of its own in which overlays on /etc and
 * /opt show exactly the test's conflist and plugin directory (and one on
 * /var/lib catches libcni's result cache).
 *
 * Clean-up goes by verified PIDs only: tasks are killed and removed through
 * ctr, then the daemon (its PID checked to be this containerd), then any shim
 * or container init left behind, found by their pid files under the state
 * directory and checked against /proc (cmdline, cgroup) before a signal.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { run, type RunResult } from './agents.js';
import { haveRoot, haveTools } from './ci.js';
import { HarnessError } from './errors.js';
import { sh, type ExecResult } from './exec.js';
import { onProcessExit } from './exit-hooks.js';
import { spawnManaged, type ManagedProcess } from './process.js';
import type { Topology } from './topology.js';

/** What a containerd host needs on this machine (apt-get install containerd busybox-static). */
export const CONTAINERD_TOOLS = ['ip', 'ping', 'nsenter', 'unshare', 'containerd', 'ctr', 'runc', 'containerd-shim-runc-v2', '/bin/busybox'];

/** Root and every one of {@link CONTAINERD_TOOLS}. */
export function haveContainerd(): boolean {
  return haveRoot() && haveTools(...CONTAINERD_TOOLS);
}

/** A conflist and plugin directory for `ctr run --cni`. */
export interface CniSetup {
  /** Directory shown as /etc/cni/net.d (holds the conflist). */
  confDir: string;
  /** Directory shown as /opt/cni/bin (holds the plugins). */
  binDir: string;
}

/**
 * Writes `dir/net.d/10-<name>.conflist`, a list named `name` whose one plugin
 * is overlayd-cni with `fields` (socket, network, …); the plugin directory is
 * `dir/bin` (fill it with `overlayctl cni install --dir`).
 */
export function writeConflist(dir: string, name: string, fields: Record<string, unknown>): CniSetup {
  const setup = { confDir: join(dir, 'net.d'), binDir: join(dir, 'bin') };
  mkdirSync(setup.confDir, { recursive: true });
  const list = { cniVersion: '1.0.0', name, plugins: [{ type: 'overlayd-cni', ...fields }] };
  writeFileSync(join(setup.confDir, `10-${name}.conflist`), JSON.stringify(list, null, 2));
  return setup;
}

/** One containerd daemon on one host of a topology. */
export class ContainerdHost {
  /** The containerd namespace for the test's containers (CNI_CONTAINERID = `<namespace>-<id>`). */
  readonly namespace: string;
  readonly address: string;
  private daemon!: ManagedProcess;
  private readonly containers = new Set<string>();
  private readonly unregister: () => void;
  private stopped = false;

  private constructor(
    readonly topology: Topology,
    readonly hostIndex: number,
    /** The instance's directory: config, root, state, sockets, fifos. */
    readonly dir: string,
  ) {
    this.namespace = topology.prefix;
    this.address = join(dir, 'containerd.sock');
    this.unregister = onProcessExit(() => this.killLeftovers());
  }

  /** Starts containerd in host `hostIndex`'s namespace; resolves once `ctr version` answers. */
  static async start(topology: Topology, hostIndex: number): Promise<ContainerdHost> {
    const dir = mkdtempSync(join(tmpdir(), `${topology.prefix}-containerd-`));
    const host = new ContainerdHost(topology, hostIndex, dir);
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      [
        'version = 2',
        `root = "${dir}/root"`,
        `state = "${dir}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${host.address}"`,
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = "${dir}/opt"`,
        '',
      ].join('\n'),
    );
    const script = 'mount -t tmpfs -o mode=755 ovt-run /run && exec containerd --config "$0"';
    host.daemon = spawnManaged(['nsenter', `--net=/run/netns/${host.ns}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, config], {
      namespace: host.ns,
    });
    try {
      const end = Date.now() + 20_000;
      for (;;) {
        if (host.daemon.exitStatus) throw new HarnessError('PROCESS_EXITED', `containerd exited at start:\n${host.daemon.log()}`);
        if ((await host.ctr(['version']).then(() => true, () => false)) === true) break;
        if (Date.now() > end) throw new HarnessError('WAIT_TIMEOUT', `containerd did not answer within 20 s:\n${host.daemon.log()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    } catch (err) {
      await host.stop();
      throw err;
    }
    return host;
  }

  /** The host's network namespace. */
  get ns(): string {
    return this.topology.host(this.hostIndex).ns;
  }

  /** containerd's state directory (tasks' bundles with shim.pid and init.pid). */
  get stateDir(): string {
    return join(this.dir, 'state');
  }

  /** The daemon's log, for failure messages. */
  log(): string {
    return this.daemon?.log(60) ?? '';
  }

  /** Runs `ctr --address … -n <namespace> ARGS` in the host's namespace; rejects on a non-zero exit. */
  ctr(args: string[], timeoutMs = 20_000): Promise<ExecResult> {
    return sh(['nsenter', `--net=/run/netns/${this.ns}`, 'ctr', '--address', this.address, '-n', this.namespace, ...args], { timeoutMs });
  }

  /**
   * Runs `argv` in container `id`'s running task (`ctr task exec`, its FIFOs
   * in this instance's directory, which the shim sees); resolves whatever the exit code.
   */
  exec(id: string, argv: string[], timeoutMs = 30_000): Promise<RunResult> {
    const fifo = mkdtempSync(join(this.dir, 'exec-'));
    const ctr = ['ctr', '--address', this.address, '-n', this.namespace, 'task', 'exec', '--exec-id', basename(fifo), '--fifo-dir', fifo, id, ...argv];
    return run(['nsenter', `--net=/run/netns/${this.ns}`, 'sh', '-c', 'exec "$@" </dev/null', 'sh', ...ctr], timeoutMs);
  }

  /**
   * Starts `ctr run --cni --rm --rootfs ROOTFS ID ARGV…` in its own mount
   * namespace where /etc/cni/net.d and /opt/cni/bin are `cni`'s directories;
   * the returned process prints what the container prints and exits after
   * the task has ended and ctr has called the plugin's DEL.
   */
  runWithCni(id: string, rootfs: string, cni: CniSetup, argv: string[]): ManagedProcess {
    const work = mkdtempSync(join(this.dir, `ctr-${id}-`));
    for (const d of ['fifo', 'etc-up', 'etc-work', 'opt-up', 'opt-work', 'lib-up', 'lib-work']) mkdirSync(join(work, d));
    const script = [
      'set -e',
      'mount -t overlay ovt-etc -o "lowerdir=/etc,upperdir=$W/etc-up,workdir=$W/etc-work" /etc',
      'mount -t overlay ovt-opt -o "lowerdir=/opt,upperdir=$W/opt-up,workdir=$W/opt-work" /opt',
      // libcni caches results in /var/lib/cni: keep that in the test's directory too.
      'mount -t overlay ovt-lib -o "lowerdir=/var/lib,upperdir=$W/lib-up,workdir=$W/lib-work" /var/lib',
      'mkdir -p /etc/cni/net.d /opt/cni/bin',
      'mount --bind "$CONF" /etc/cni/net.d',
      'mount --bind "$BIN" /opt/cni/bin',
      'exec ctr --address "$ADDR" -n "$NS" run --cni --rm --fifo-dir "$W/fifo" --rootfs "$ROOTFS" "$@"',
    ].join('\n');
    this.containers.add(id);
    return spawnManaged(['nsenter', `--net=/run/netns/${this.ns}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'ctr-run', id, ...argv], {
      namespace: this.ns,
      env: { W: work, CONF: cni.confDir, BIN: cni.binDir, ADDR: this.address, NS: this.namespace, ROOTFS: rootfs },
    });
  }

  /**
   * Kills and removes the test's containers, stops the daemon (its PID
   * verified), kills leftover shims and inits (verified), removes the
   * namespace's cgroups and the directory. Idempotent; never throws.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.daemon && !this.daemon.exitStatus) {
      for (const id of this.containers) {
        await this.ctr(['task', 'kill', '-s', 'SIGKILL', id]).catch(() => undefined);
        await this.ctr(['task', 'rm', '-f', id]).catch(() => undefined);
        await this.ctr(['container', 'rm', id]).catch(() => undefined);
      }
      if (this.isOurDaemon(this.daemon.pid)) await this.daemon.stop('SIGTERM', 15_000);
    }
    this.killLeftovers();
    this.unregister();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** True when `pid` runs containerd with this instance's config. */
  private isOurDaemon(pid: number | undefined): boolean {
    if (pid === undefined) return false;
    try {
      return readlinkSync(`/proc/${pid}/exe`).endsWith('/containerd') && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.dir);
    } catch {
      return false;
    }
  }

  /** SIGKILLs shims and container inits named by pid files under the state directory, each verified first (synchronous). */
  private killLeftovers(): void {
    if (this.daemon && !this.daemon.exitStatus && this.isOurDaemon(this.daemon.pid)) this.daemon.killSync();
    const tasks = join(this.stateDir, 'io.containerd.runtime.v2.task', this.namespace);
    const ids = existsSync(tasks) ? readdirSync(tasks) : [];
    for (const id of ids) {
      const bundle = join(tasks, id);
      const shim = readPid(join(bundle, 'shim.pid'));
      const init = readPid(join(bundle, 'init.pid'));
      if (init !== undefined && procText(init, 'cgroup').includes(`/${this.namespace}/${id}`)) signalKill(init);
      if (shim !== undefined && procText(shim, 'cmdline').includes('containerd-shim') && procText(shim, 'cmdline').includes(id)) signalKill(shim);
    }
    // ctr's default cgroup path is /<namespace>/<id>: runc removes the container's, the namespace's stays.
    const root = '/sys/fs/cgroup';
    for (const controller of existsSync(root) ? readdirSync(root) : []) {
      const nsDir = join(root, controller, this.namespace);
      if (!existsSync(nsDir)) continue;
      for (const id of safeList(nsDir)) tryRmdir(join(nsDir, id));
      tryRmdir(nsDir);
    }
  }
}

/**
 * A busybox root filesystem for `ctr run --rootfs`: busybox-static's binary
 * and the applets the tests use as symlinks. Returns its path.
 */
export function busyboxRootfs(dir: string, busybox = '/bin/busybox'): string {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  writeFileSync(join(rootfs, 'bin', 'busybox'), readFileSync(busybox), { mode: 0o755 });
  for (const applet of ['sh', 'ip', 'ping', 'sleep', 'echo', 'cat', 'test', '[', 'ls', 'touch']) {
    rmSync(join(rootfs, 'bin', applet), { force: true });
    symlinkSync('busybox', join(rootfs, 'bin', applet)); // relative: resolves inside the container's root
  }
  return rootfs;
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

function procText(pid: number, file: 'cmdline' | 'cgroup'): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

function signalKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Still in use or already gone: a cgroup directory is removed only when empty.
  }
}

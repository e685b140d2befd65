/**
 * A real dockerd (Debian's docker.io 20.10) inside a namespace host, as
 * /work/shared/RUNTIMES.md records it: entered with `nsenter --net` (not `ip
 * netns exec`, whose /sys has no cgroup tree), in a mount namespace of its own
 * where /run, /var/lib and /opt are fresh tmpfs (dockerd writes there whatever
 * its flags say), /run/docker/plugins is this host's plugin folder (so it
 * sees only its own host's overlayd), sysfs is the host namespace's, and the
 * cgroup tree is moved back in. Its data root is in the test's folder, so a
 * restarted daemon finds its images and networks again.
 *
 * Stopping is by the verified PID only: SIGTERM, SIGKILL after 15 s, then the
 * init processes of containers it left, found by their `init.pid` files and
 * checked against the daemon's cgroup parent. Nothing broader is ever killed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { haveTools } from './ci.js';
import { run, waitFor, type RunResult } from './agents.js';
import { spawnManaged, type ManagedProcess } from './process.js';
import type { Topology } from './topology.js';

/** The 20.10 client (a newer one may come first in PATH). */
export const DOCKER = '/usr/bin/docker';
/** busybox-static's binary: the containers' whole image. */
export const BUSYBOX = '/bin/busybox';
export const BUSYBOX_IMAGE = 'local/busybox';
const STOP_GRACE_MS = 15_000;

/** Whether this machine can run dockerd hosts (docker.io and busybox-static installed). */
export function haveDocker(): boolean {
  return haveTools(DOCKER, 'dockerd', 'nsenter', 'unshare', BUSYBOX);
}

/** Host `i`'s Docker plugin folder under a test's folder `base`: its dockerd looks there, its agent serves there. */
export const dockerPluginDir = (base: string, i: number): string => join(base, `h${i}`, 'plugins');

/** The flags that make host `i`'s agent serve its dockerd itself (AgentOptions.hostArgs); docker-plugin.ts runs the plugin as its own process instead. */
export const dockerPluginArgs = (base: string, i: number): string[] => ['--docker-plugin', '--docker-plugin-dir', dockerPluginDir(base, i)];

/**
 * Starts a dockerd on each host of `hosts` at once (state in `base/h<i>/docker`,
 * plugin folder {@link dockerPluginDir}, cgroup parent `<prefix>d<i>`) and
 * imports busybox into each; resolves with them in the order of `hosts`. When
 * one fails, those that started are stopped before the error is thrown.
 */
export async function startDockerHosts(topo: Topology, base: string, hosts: number[]): Promise<DockerDaemon[]> {
  const started: DockerDaemon[] = [];
  const start = async (i: number): Promise<DockerDaemon> => {
    const d = await DockerDaemon.start(topo.host(i).ns, `${topo.prefix}d${i}`, join(base, `h${i}`, 'docker'), dockerPluginDir(base, i));
    started.push(d);
    await d.importBusybox();
    return d;
  };
  const results = await Promise.allSettled(hosts.map(start));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return results.map((r) => (r as PromiseFulfilledResult<DockerDaemon>).value);
  await Promise.all(started.map((d) => d.stop()));
  throw failed.reason;
}

/** The script run in the daemon's new mount namespace; ends by exec'ing dockerd (so its PID is the one we hold). */
const SETUP = `set -e
mount -t tmpfs -o mode=755 ovt-run /run
mkdir -p /run/docker/plugins
mount --bind "$OVT_PLUGINS" /run/docker/plugins
if [ -d /etc/docker ]; then mount --bind "$OVT_ETC" /etc/docker; fi
mount -t tmpfs ovt-varlib /var/lib
mount -t tmpfs ovt-opt /opt
mount --rbind /sys/fs/cgroup "$OVT_CGROUP"
mount -t sysfs ovt-sys /sys
mount --move "$OVT_CGROUP" /sys/fs/cgroup
exec "$@"`;

export class DockerDaemon {
  private proc!: ManagedProcess;

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly socket: string,
    readonly cgroupParent: string,
    private readonly ns: string,
    private readonly pluginDir: string,
  ) {}

  /** The running daemon process (its PID is dockerd's). */
  get process(): ManagedProcess {
    return this.proc;
  }

  /**
   * Starts a dockerd in namespace `ns` whose plugin folder is `pluginDir`;
   * `dir` (created) holds its sockets, state and logs. `name` (prefixed, e.g.
   * `ovt…d1`) is its cgroup parent. Resolves once it answers `docker version`.
   */
  static async start(ns: string, name: string, dir: string, pluginDir: string): Promise<DockerDaemon> {
    for (const p of ['data', 'exec', 'etc', 'cgroup', 'client']) mkdirSync(join(dir, p), { recursive: true });
    mkdirSync(pluginDir, { recursive: true });
    writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ 'deprecated-key-path': join(dir, 'data', 'key.json') }));
    const d = new DockerDaemon(name, dir, join(dir, 'docker.sock'), `/${name}`, ns, pluginDir);
    try {
      await d.launch();
    } catch (err) {
      await d.stop();
      throw err;
    }
    return d;
  }

  /** Stops the daemon (its containers stop with it) and starts it again on the same data. */
  async restart(): Promise<void> {
    await this.halt();
    await this.launch();
  }

  private async launch(): Promise<void> {
    const dir = this.dir;
    const argv = [
      'dockerd', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'), '-H', `unix://${this.socket}`,
      '--config-file', join(dir, 'daemon.json'), '--bridge=none', '--iptables=false', '--ip6tables=false', '--storage-driver', 'overlay2',
      '--default-address-pool', 'base=198.19.128.0/17,size=24', '--userland-proxy=false', '--cgroup-parent', this.cgroupParent,
    ];
    const proc = spawnManaged(['nsenter', `--net=/run/netns/${this.ns}`, 'unshare', '-m', '--propagation', 'slave', 'sh', '-c', SETUP, 'sh', ...argv], {
      env: { OVT_PLUGINS: this.pluginDir, OVT_ETC: join(dir, 'etc'), OVT_CGROUP: join(dir, 'cgroup') },
    });
    this.proc = proc;
    await waitFor(`dockerd ${this.name} to answer`, async () => {
      if (proc.exitStatus) throw new Error(`dockerd exited: ${proc.log(20)}`);
      return (await this.docker('version', '--format', '{{.Server.Version}}')).code === 0;
    }, 30_000);
  }

  /** Runs the docker client against this daemon; resolves whatever the exit code. */
  docker(...args: string[]): Promise<RunResult> {
    return run(['env', `DOCKER_CONFIG=${join(this.dir, 'client')}`, DOCKER, '-H', `unix://${this.socket}`, ...args], 90_000);
  }

  /** Runs the docker client; resolves with its trimmed stdout, rejects with its stderr. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.docker(...args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /** Imports busybox-static as image `local/busybox` (no registry needed). */
  async importBusybox(): Promise<void> {
    const root = join(this.dir, 'rootfs');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'tmp'), { recursive: true });
    copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
    execFileSync('chmod', ['755', join(root, 'bin/busybox')]);
    const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
    for (const a of applets) if (!existsSync(join(root, 'bin', a))) symlinkSync('busybox', join(root, 'bin', a));
    const cmd = `tar -C '${root}' -c . | env DOCKER_CONFIG='${join(this.dir, 'client')}' ${DOCKER} -H 'unix://${this.socket}' import -c 'CMD ["/bin/sh"]' - ${BUSYBOX_IMAGE}`;
    const r = await run(['sh', '-c', cmd]);
    if (r.code !== 0) throw new Error(`importing busybox failed: ${r.stderr.trim()}`);
  }

  /** Stops the daemon by its verified PID, then the inits of containers it left; removes its cgroups and folder. */
  async stop(): Promise<void> {
    await this.halt();
    removeCgroups(this.cgroupParent);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** SIGTERM to the verified dockerd PID, SIGKILL after 15 s; then the inits of containers it left. */
  private async halt(): Promise<void> {
    const proc = this.proc as ManagedProcess | undefined;
    const pid = proc?.pid;
    if (proc && pid !== undefined && proc.exitStatus === undefined && isDockerd(pid)) {
      process.kill(pid, 'SIGTERM');
      const end = Date.now() + STOP_GRACE_MS;
      while (proc.exitStatus === undefined && Date.now() < end) await sleep(200);
      if (proc.exitStatus === undefined && isDockerd(pid)) process.kill(pid, 'SIGKILL');
    }
    await proc?.stop('SIGKILL', 2000); // not dockerd yet (its set-up failed): our own child, stopped as such
    for (const init of this.leftoverInits()) {
      try {
        process.kill(init, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    await sleep(300);
  }

  /** PIDs from `init.pid` files below the exec root whose process still lives in this daemon's cgroup parent. */
  private leftoverInits(): number[] {
    const out: number[] = [];
    const walk = (dir: string, depth: number): void => {
      if (depth > 8 || !existsSync(dir)) return;
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p, depth + 1);
        else if (e.name === 'init.pid') {
          const pid = Number(readFileSync(p, 'utf8').trim());
          if (Number.isInteger(pid) && pid > 1 && inCgroup(pid, this.cgroupParent)) out.push(pid);
        }
      }
    };
    walk(join(this.dir, 'exec'), 0);
    return out;
  }
}

function isDockerd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd';
  } catch {
    return false;
  }
}

function inCgroup(pid: number, parent: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').some((l) => l.split(':')[2]?.startsWith(`${parent}/`));
  } catch {
    return false;
  }
}

/** Removes the (empty by now) cgroup folders under `parent`, deepest first, in every hierarchy. */
function removeCgroups(parent: string): void {
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c));
  const remove = (dir: string): void => {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) remove(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      // Still busy: a process survived; the leak check reports what is left.
    }
  };
  for (const root of roots) remove(join(root, parent));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

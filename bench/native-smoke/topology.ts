/**
 * The native smoke topology: two namespaces `<prefix>a` / `<prefix>b` joined
 * by a veth underlay (198.18.0.1/16 ↔ 198.18.0.2/16, and 2001:db8:18::1/64 ↔
 * ::2/64 for an IPv6 underlay), and in each an overlay
 * device carrying 198.19.0.1/24 / 198.19.0.2/24 with static neighbour
 * entries: either a TAP driven by a NativeDatapath peer process
 * (./peer.ts), or a kernel `vxlan` device for comparison. Shared by
 * bench/native-smoke.ts and test/native/io.test.ts. `destroy()` removes
 * everything (deleting a namespace deletes its links).
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PeerConfig } from './peer.js';

const exec = promisify(execFile);

/** Overlay VNI of the smoke topology. */
export const SMOKE_VNI = 42;
/** Underlay IPv6 addresses of the sides, when the underlay is IPv6. */
export const UNDERLAY6 = ['2001:db8:18::1', '2001:db8:18::2'] as const;
/** Overlay MTU (a 1500-byte underlay minus VXLAN over IPv4). */
export const SMOKE_MTU = 1450;
/** Per side: underlay, overlay and MAC addresses. */
export const SIDES = [
  { underlay: '198.18.0.1', overlay: '198.19.0.1', overlay6: '2001:db8:19::1', mac: '02:42:c6:13:00:01' },
  { underlay: '198.18.0.2', overlay: '198.19.0.2', overlay6: '2001:db8:19::2', mac: '02:42:c6:13:00:02' },
] as const;

/** Runs a command, throwing with its stderr on failure. */
export async function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const { stdout } = await exec(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout;
}

/** Runs a command inside namespace `ns`. */
export const nsRun = (ns: string, args: string[], timeoutMs?: number): Promise<string> =>
  run('ip', ['netns', 'exec', ns, ...args], timeoutMs);

/** How a native side's datapath is made (PeerConfig). */
export type NativeSideOptions = Pick<PeerConfig, 'sourcePorts' | 'udpOffload'>;

/** A NativeDatapath peer process in one namespace, driven by line commands. */
export class PeerProcess {
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];
  private stderr = '';

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Starts peer.ts (or another peer script taking one JSON argument) in `ns` with `cfg`; resolves once it forwards. */
  static async start(ns: string, cfg: PeerConfig | object, script = join(dirname(fileURLToPath(import.meta.url)), 'peer.ts')): Promise<PeerProcess> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, JSON.stringify(cfg)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const peer = new PeerProcess(child);
    const ready = await peer.next(20_000);
    if (!(JSON.parse(ready) as { ready?: boolean }).ready) throw new Error(`peer in ${ns} did not start: ${ready}`);
    return peer;
  }

  private next(timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`peer did not answer; stderr: ${this.stderr}`)), timeoutMs);
      const onExit = (): void => reject(new Error(`peer exited; stderr: ${this.stderr}`));
      this.child.once('exit', onExit);
      this.pending.push((line) => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        resolve(line);
      });
    });
  }

  /** Sends one command line and returns the parsed JSON answer. */
  async command<T>(line: string): Promise<T> {
    const answer = this.next();
    this.child.stdin.write(`${line}\n`);
    return JSON.parse(await answer) as T;
  }

  /** Stops the datapath and waits for the process to end (kills it after 5 s). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Two namespaces and their underlay; overlays are added with {@link addNativeOverlay} / {@link addKernelOverlay}. */
export class SmokeTopology {
  readonly ns: [string, string];
  readonly peers: PeerProcess[] = [];

  private constructor(
    readonly prefix: string,
    /** Underlay family the overlays run over (both families are configured on the veth). */
    readonly underlayFamily: 4 | 6,
  ) {
    this.ns = [`${prefix}a`, `${prefix}b`];
  }

  /** Underlay address of side `i` in the chosen family. */
  underlayAddress(i: number): string {
    return this.underlayFamily === 4 ? SIDES[i]!.underlay : UNDERLAY6[i]!;
  }

  /** Overlay MTU: 1500 minus VXLAN over the underlay family (50 for IPv4, 70 for IPv6). */
  get overlayMtu(): number {
    return this.underlayFamily === 4 ? SMOKE_MTU : 1430;
  }

  /** Name of the overlay device in each namespace. */
  get overlayDevice(): string {
    return `${this.prefix}o`;
  }

  /** Builds the namespaces and the veth underlay; removes them again if that fails. */
  static async create(prefix: string, underlayFamily: 4 | 6 = 4): Promise<SmokeTopology> {
    const t = new SmokeTopology(prefix, underlayFamily);
    try {
      for (const ns of t.ns) {
        await run('ip', ['netns', 'add', ns]);
        await nsRun(ns, ['ip', 'link', 'set', 'lo', 'up']);
      }
      const [va, vb] = [`${prefix}va`, `${prefix}vb`];
      await run('ip', ['link', 'add', va, 'netns', t.ns[0], 'type', 'veth', 'peer', 'name', vb, 'netns', t.ns[1]]);
      for (const [i, dev] of [va, vb].entries()) {
        await nsRun(t.ns[i], ['ip', 'addr', 'add', `${SIDES[i].underlay}/16`, 'dev', dev]);
        await nsRun(t.ns[i], ['ip', '-6', 'addr', 'add', `${UNDERLAY6[i]}/64`, 'dev', dev, 'nodad']);
        await nsRun(t.ns[i], ['ip', 'link', 'set', dev, 'up']);
      }
    } catch (err) {
      await t.destroy();
      throw err;
    }
    return t;
  }

  /** The veth end in namespace `i`. */
  underlayDevice(i: number): string {
    return `${this.prefix}v${i === 0 ? 'a' : 'b'}`;
  }

  /**
   * Gives the overlay device of side `i` its MAC, addresses, MTU and IPv4
   * neighbour entry, and brings it up. IPv6 neighbours are left to neighbour
   * discovery (answered by the native path's ND proxy, or by the kernel).
   */
  private async configureOverlay(i: number): Promise<void> {
    const ns = this.ns[i];
    const dev = this.overlayDevice;
    const other = SIDES[1 - i];
    await nsRun(ns, ['ip', 'link', 'set', dev, 'address', SIDES[i].mac, 'mtu', String(this.overlayMtu)]);
    await nsRun(ns, ['ip', 'addr', 'add', `${SIDES[i].overlay}/24`, 'dev', dev]);
    await nsRun(ns, ['ip', '-6', 'addr', 'add', `${SIDES[i].overlay6}/64`, 'dev', dev, 'nodad']);
    await nsRun(ns, ['ip', 'link', 'set', dev, 'up']);
    await nsRun(ns, ['ip', 'neigh', 'replace', other.overlay, 'lladdr', other.mac, 'dev', dev, 'nud', 'permanent']);
  }

  /** A persistent TAP per side, each driven by a NativeDatapath peer process (`options`: its source pool, its TAP offloads). */
  async addNativeOverlay(options: NativeSideOptions = {}): Promise<void> {
    for (let i = 0; i < 2; i++) await this.addNativeSide(i, options);
  }

  /** A kernel vxlan device per side on the same VNI and port, for comparison. */
  async addKernelOverlay(): Promise<void> {
    for (let i = 0; i < 2; i++) await this.addKernelSide(i);
  }

  /** Side a native, side b a kernel vxlan device: the interoperability check. */
  async addMixedOverlay(options: NativeSideOptions = {}): Promise<void> {
    await this.addNativeSide(0, options);
    await this.addKernelSide(1);
  }

  private async addNativeSide(i: number, options: NativeSideOptions): Promise<void> {
    await nsRun(this.ns[i], ['ip', 'tuntap', 'add', 'mode', 'tap', 'name', this.overlayDevice]);
    await this.configureOverlay(i);
    const other = SIDES[1 - i];
    const cfg: PeerConfig = {
      bindAddress: this.underlayAddress(i),
      dataPort: 4789,
      vni: SMOKE_VNI,
      tapName: this.overlayDevice,
      mtu: this.overlayMtu,
      remotes: [{ mac: other.mac, ip: other.overlay, ip6: other.overlay6, vtep: this.underlayAddress(1 - i) }],
    };
    if (options.sourcePorts !== undefined) cfg.sourcePorts = options.sourcePorts;
    if (options.udpOffload !== undefined) cfg.udpOffload = options.udpOffload;
    this.peers[i] = await PeerProcess.start(this.ns[i], cfg);
  }

  private async addKernelSide(i: number): Promise<void> {
    await nsRun(this.ns[i], [
      'ip', 'link', 'add', this.overlayDevice, 'type', 'vxlan', 'id', String(SMOKE_VNI),
      'local', this.underlayAddress(i), 'remote', this.underlayAddress(1 - i), 'dstport', '4789', 'dev', this.underlayDevice(i),
    ]);
    await this.configureOverlay(i);
  }

  /** Stops the peers and deletes both namespaces (and with them every link). */
  async destroy(): Promise<void> {
    await Promise.allSettled(this.peers.filter((p) => p !== undefined).map((p) => p.stop()));
    for (const ns of this.ns) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}

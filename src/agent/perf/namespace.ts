/**
 * The short-lived network namespace of a perf test endpoint. It belongs to
 * the perf worker running `serve` in it (started under `unshare --net`), so
 * it cannot outlive the test: when the worker exits — stopped, timed out
 * (`--max-seconds`), or its agent gone (stdin closed) — the kernel removes
 * the namespace and the endpoint's veth with it. No name is left in
 * /var/run/netns to clean up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../host/command.js';
import { OverlayError } from '../../cluster/errors.js';

/** The worker program (worker.ts, or worker.js once built), for `ip netns exec NS node PERF_WORKER …` too. */
export const PERF_WORKER = fileURLToPath(new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

const READY_TIMEOUT_MS = 10_000;

export class PerfNamespace {
  private constructor(private readonly worker: ChildProcess) {}

  /** Starts the worker in a namespace of its own; it exits by itself after `maxSeconds`. */
  static async open(maxSeconds: number): Promise<PerfNamespace> {
    const worker = spawn('unshare', ['--net', '--', process.execPath, ...process.execArgv, PERF_WORKER, 'serve', '--max-seconds', String(maxSeconds), '--exit-with-stdin'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const ns = new PerfNamespace(worker);
    try {
      await new Promise<void>((resolve, reject) => {
        let err = '';
        const timer = setTimeout(() => reject(new Error('the perf worker did not start within 10 s')), READY_TIMEOUT_MS);
        worker.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        worker.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && (clearTimeout(timer), resolve()));
        worker.on('error', (e) => (clearTimeout(timer), reject(e)));
        worker.on('exit', (code) => (clearTimeout(timer), reject(new Error(`the perf worker exited (${code}): ${err.trim().split('\n')[0] ?? ''}`))));
      });
    } catch (err) {
      ns.close();
      throw new OverlayError('UNSUPPORTED', `cannot make a perf test namespace: ${(err as Error).message}`);
    }
    return ns;
  }

  /** The namespace file, for the endpoint's veth (`--netns` takes a path). */
  get nsPath(): string {
    return `/proc/${this.worker.pid}/ns/net`;
  }

  /** Runs the worker in `mode` inside this namespace and parses the JSON line it prints. */
  async run<T>(mode: 'rtt' | 'send' | 'receive', args: string[], timeoutMs: number): Promise<T> {
    const out = await run('nsenter', [`--net=${this.nsPath}`, process.execPath, ...process.execArgv, PERF_WORKER, mode, ...args, '--exit-with-stdin'], timeoutMs);
    return JSON.parse(out.trim().split('\n').pop()!) as T;
  }

  /** Stops the worker: the namespace and the veth in it go too. */
  close(): void {
    if (this.worker.exitCode === null && this.worker.signalCode === null) this.worker.kill('SIGKILL');
  }
}

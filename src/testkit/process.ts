/**
 * Long-running processes started by tests (agents, iperf3 servers, tcpdump,
 * wireguard-go): output captured line by line, `waitForLine` to synchronise
 * on what they print, and killed on clean-up — by their topology, or by the
 * exit hook if the test process dies first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { HarnessError } from './errors.js';
import { formatCommand, inNamespace } from './exec.js';
import { onProcessExit } from './exit-hooks.js';

/** Options of {@link nsSpawn} and {@link spawnManaged}. */
export interface SpawnOptions {
  /** Extra environment variables, merged over the current environment. */
  env?: Record<string, string>;
  /** Keep stdout as raw bytes ({@link ManagedProcess.stdoutBytes}) instead of splitting it into lines. */
  binaryStdout?: boolean;
  /** The namespace the process runs in, for {@link stopProcessesIn}. Set by {@link nsSpawn}. */
  namespace?: string;
}

/** How a process ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How long after the process exits its output may still arrive. */
const EXIT_GRACE_MS = 200;

/** Lines kept per process; older ones are dropped (the count of dropped lines is kept). */
const MAX_LINES = 20_000;

const live = new Set<ManagedProcess>();

/** A child process the harness owns: logs captured, killed on clean-up. */
export class ManagedProcess {
  /** The argv it was started with. */
  readonly command: readonly string[];
  /** The namespace it runs in, if started by {@link nsSpawn}. */
  readonly namespace: string | undefined;
  /**
   * Settles when the process has exited (never rejects) — at the latest
   * 200 ms after its exit even if a child of it still holds its output pipes.
   */
  readonly exited: Promise<ExitStatus>;
  /** Settles when its stdout and stderr have ended: all output has been read (never rejects). */
  readonly closed: Promise<void>;

  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly stdoutChunks: Buffer[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly partial = { stdout: '', stderr: '' };
  private droppedLines = 0;
  private status: ExitStatus | undefined;
  private readonly unregister: () => void;

  constructor(cmd: readonly string[], opts: SpawnOptions = {}) {
    const [file, ...args] = cmd;
    if (file === undefined) throw new HarnessError('BAD_ARGUMENT', 'spawn: empty command');
    this.command = cmd;
    this.namespace = opts.namespace;
    this.child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so signals reach what it starts too (a shell's children, an agent's helpers).
      detached: true,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      if (opts.binaryStdout) this.stdoutChunks.push(chunk);
      else this.consume('stdout', chunk);
    });
    this.child.stderr?.on('data', (chunk: Buffer) => this.consume('stderr', chunk));
    this.exited = new Promise<ExitStatus>((resolve) => {
      const finish = (status: ExitStatus): void => {
        if (this.status) return;
        this.flushPartial();
        this.status = status;
        live.delete(this);
        this.unregister();
        resolve(status);
        this.notify();
      };
      this.child.on('error', (error) => {
        this.lines.push(`[spawn error] ${error.message}`);
        finish({ code: -1, signal: null });
      });
      this.child.on('close', (code, signal) => finish({ code, signal }));
      // A grandchild that inherited the pipes can delay 'close' indefinitely: settle shortly after 'exit'.
      this.child.on('exit', (code, signal) => setTimeout(() => finish({ code, signal }), EXIT_GRACE_MS).unref());
    });
    this.closed = new Promise<void>((resolve) => {
      this.child.on('close', () => resolve());
      this.child.on('error', () => resolve());
    });
    this.unregister = onProcessExit(() => this.killSync());
    live.add(this);
  }

  /** The OS process id (undefined if the spawn failed). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The exit status once it has exited. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /** Everything it printed so far, stdout and stderr interleaved by arrival, one entry per line. */
  get output(): readonly string[] {
    return this.lines;
  }

  /** The captured log as text, for error messages (the last `maxLines` lines). */
  log(maxLines = 50): string {
    const head = this.droppedLines > 0 ? [`[${this.droppedLines} earlier lines dropped]`] : [];
    return [...head, ...this.lines.slice(-maxLines)].join('\n');
  }

  /** Raw stdout bytes (only with {@link SpawnOptions.binaryStdout}). */
  stdoutBytes(): Buffer {
    return Buffer.concat(this.stdoutChunks);
  }

  /**
   * Resolves with the match of the first line (already printed or to come)
   * that matches `pattern` (a RegExp without the `g` flag). Rejects with `WAIT_TIMEOUT` after `timeoutMs`, or
   * `PROCESS_EXITED` if the process ends first; both messages quote its log.
   */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let scanned = 0; // absolute line number, so lines dropped from the front do not shift it
      const check = (): boolean => {
        for (scanned = Math.max(scanned, this.droppedLines); scanned < this.droppedLines + this.lines.length; scanned++) {
          const m = (this.lines[scanned - this.droppedLines] ?? '').match(pattern);
          if (m) {
            done();
            resolve(m);
            return true;
          }
        }
        if (this.status) {
          done();
          reject(this.failure('PROCESS_EXITED', `exited (${describe(this.status)}) before printing ${pattern}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure('WAIT_TIMEOUT', `did not print ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (!check()) this.waiters.add(waiter);
    });
  }

  /**
   * Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after
   * `graceMs` (default 2000). Resolves at once if it already exited.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 2000): Promise<ExitStatus> {
    if (this.status) return this.status;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }

  /** Sends a signal to its process group if it is still running. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (this.status || pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // Already gone.
      }
    }
  }

  /** SIGKILL without waiting, for exit handlers. */
  killSync(): void {
    this.signal('SIGKILL');
  }

  private failure(code: 'WAIT_TIMEOUT' | 'PROCESS_EXITED', what: string): HarnessError {
    return new HarnessError(code, `${formatCommand(this.command)} ${what}; its output:\n${this.log()}`);
  }

  private consume(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const text = this.partial[stream] + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const line of parts) this.push(line);
    this.notify();
  }

  private flushPartial(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.push(this.partial[stream]);
      this.partial[stream] = '';
    }
  }

  private push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > MAX_LINES) {
      this.lines.shift();
      this.droppedLines++;
    }
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Starts `cmd` (argv, no shell) in the current namespace as a {@link ManagedProcess}. */
export function spawnManaged(cmd: readonly string[], opts: SpawnOptions = {}): ManagedProcess {
  return new ManagedProcess(cmd, opts);
}

/** Starts `cmd` inside network namespace `ns` as a {@link ManagedProcess}. */
export function nsSpawn(ns: string, cmd: readonly string[], opts: SpawnOptions = {}): ManagedProcess {
  return new ManagedProcess(inNamespace(ns, cmd), { ...opts, namespace: ns });
}

/** Stops (SIGTERM, then SIGKILL after `graceMs`) every live managed process whose namespace starts with `prefix`. */
export function stopProcessesIn(prefix: string, graceMs = 1000): Promise<void> {
  return stopProcessesWhere((ns) => ns.startsWith(prefix), graceMs);
}

/** Stops every live managed process whose namespace satisfies `match`. */
export async function stopProcessesWhere(match: (ns: string) => boolean, graceMs = 1000): Promise<void> {
  const targets = [...live].filter((p) => p.namespace !== undefined && match(p.namespace));
  await Promise.all(targets.map((p) => p.stop('SIGTERM', graceMs)));
}

function describe(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}

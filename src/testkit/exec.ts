/**
 * Running short commands, in the current network namespace or inside another
 * one, as promises with a time limit and errors that quote stderr.
 */
import { execFile, execFileSync } from 'node:child_process';
import { HarnessError } from './errors.js';

/** Options of {@link sh} and {@link nsExec}. */
export interface ExecOptions {
  /** Kill the command (SIGKILL) after this many milliseconds. Default 10 000. */
  timeoutMs?: number;
  /** Bytes or text written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  /** Extra environment variables, merged over the current environment. */
  env?: Record<string, string>;
}

/** What a command that exited 0 printed. */
export interface ExecResult {
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** The argv that runs `cmd` inside network namespace `ns` (`ip netns exec`, which execs in place). */
export function inNamespace(ns: string, cmd: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...cmd];
}

/**
 * Runs `cmd` (argv, no shell) and resolves with its output when it exits 0.
 * Rejects with a {@link HarnessError}: `COMMAND_FAILED` (message holds the
 * command line, exit status and stderr), `COMMAND_TIMEOUT` or `COMMAND_NOT_FOUND`.
 */
export function sh(cmd: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = cmd;
  if (file === undefined) return Promise.reject(new HarnessError('BAD_ARGUMENT', 'sh: empty command'));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: 'utf8',
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        reject(commandError(cmd, error, stdout, stderr, timeoutMs));
      },
    );
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => undefined); // the command may exit before reading
      child.stdin?.end(opts.input);
    }
  });
}

/** {@link sh} inside network namespace `ns`. */
export function nsExec(ns: string, cmd: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return sh(inNamespace(ns, cmd), opts);
}

/**
 * Synchronous variant for exit handlers, where no promise can settle any more.
 * Returns stdout; throws the same errors as {@link sh}.
 */
export function shSync(cmd: readonly string[], opts: Pick<ExecOptions, 'timeoutMs'> = {}): string {
  const [file, ...args] = cmd;
  if (file === undefined) throw new HarnessError('BAD_ARGUMENT', 'shSync: empty command');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    return execFileSync(file, args, {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string | Buffer; stderr?: string | Buffer; status?: number | null };
    throw commandError(cmd, e, String(e.stdout ?? ''), String(e.stderr ?? ''), timeoutMs);
  }
}

/** Quotes an argv for messages. */
export function formatCommand(cmd: readonly string[]): string {
  return cmd.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function commandError(
  cmd: readonly string[],
  error: Error & { code?: string | number | null; killed?: boolean; signal?: NodeJS.Signals | null; status?: number | null },
  stdout: string,
  stderr: string,
  timeoutMs: number,
): HarnessError {
  const line = formatCommand(cmd);
  if (error.code === 'ENOENT') {
    return new HarnessError('COMMAND_NOT_FOUND', `${line}: program not found on PATH`, { cause: error });
  }
  const text = stderr.trim();
  if (error.killed || error.signal === 'SIGKILL' || (error as { code?: unknown }).code === 'ETIMEDOUT') {
    return new HarnessError('COMMAND_TIMEOUT', `${line}: killed after ${timeoutMs} ms${text ? `: ${text}` : ''}`, {
      cause: error,
      stdout,
    });
  }
  const exitCode = typeof error.code === 'number' ? error.code : (error.status ?? null);
  const status = exitCode ?? error.signal ?? 'unknown';
  return new HarnessError('COMMAND_FAILED', `${line} failed (exit ${status})${text ? `: ${text}` : ''}`, {
    cause: error,
    exitCode,
    stdout,
  });
}

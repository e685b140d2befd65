/**
 * Runs the Linux plumbing tools (`ip`, `sysctl`, `nsenter`) and turns their
 * failures into {@link HostError}s carrying the tool's own one-line reason.
 */
import { execFile } from 'node:child_process';

export type HostErrorCode = 'COMMAND_FAILED' | 'NETNS_NOT_FOUND' | 'LINK_EXISTS' | 'NO_SUCH_ADDRESS';

export class HostError extends Error {
  constructor(
    readonly code: HostErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}

/** Runs `file args` and resolves with stdout; rejects with the first line of stderr. */
export function run(file: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const reason = stderr.trim().split('\n')[0] || err.message;
      reject(new HostError('COMMAND_FAILED', `${file} ${args.join(' ')}: ${reason}`));
    });
  });
}

/** `ip` in the agent's own namespace. */
export const ip = (...args: string[]): Promise<string> => run('ip', args);

/** `ip -json` in the agent's own namespace, parsed. */
export async function ipJson<T>(...args: string[]): Promise<T> {
  const out = await run('ip', ['-json', ...args]);
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}

/** `ip` inside the network namespace at `nsPath` (a bind-mounted namespace file). */
export const ipIn = (nsPath: string, ...args: string[]): Promise<string> => run('nsenter', [`--net=${nsPath}`, 'ip', ...args]);

/** Writes a sysctl in the agent's namespace; failures are ignored (a missing knob is not fatal). */
export async function sysctl(key: string, value: string): Promise<void> {
  await run('sysctl', ['-qw', `${key}=${value}`]).catch(() => undefined);
}

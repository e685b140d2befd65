/**
 * Driving the CNI plugin (dist/src/cli/overlayd-cni.js) the way a runtime
 * does: a process with only the CNI_* variables (and PATH) set and the
 * network configuration on stdin, run inside a host's namespace. Resolves
 * with what it printed, whatever the exit code.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { inNamespace } from './exec.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** The built plugin. */
export const CNI_PLUGIN = join(ROOT, 'dist/src/cli/overlayd-cni.js');

/** One call's parameters; an omitted variable is not set at all. */
export interface CniCall {
  command: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  /** CNI_PATH (default /opt/cni/bin). */
  path?: string;
  /** Written to stdin: an object as JSON, a string as it is. */
  config: unknown;
  /** Extra or overriding environment variables (a value of undefined unsets). */
  env?: Record<string, string | undefined>;
}

/** What the plugin printed and its exit code; `json` is stdout parsed when it is JSON. */
export interface CniOutcome {
  code: number;
  stdout: string;
  stderr: string;
  json?: Record<string, unknown>;
}

/** Runs the plugin inside namespace `ns` (a host). */
export function runCni(ns: string, call: CniCall, timeoutMs = 60_000): Promise<CniOutcome> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: call.command, CNI_PATH: call.path ?? '/opt/cni/bin' };
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined) env.CNI_NETNS = call.netns;
  if (call.ifname !== undefined) env.CNI_IFNAME = call.ifname;
  for (const [k, v] of Object.entries(call.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const stdin = typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
  const [file, ...args] = inNamespace(ns, [process.execPath, CNI_PLUGIN]);
  return new Promise((done) => {
    const child = execFile(file, args, { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>);
      } catch {
        json = undefined;
      }
      done({ code, stdout, stderr, json });
    });
    child.stdin?.on('error', () => undefined); // VERSION does not read it
    child.stdin?.end(stdin);
  });
}

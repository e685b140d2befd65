/**
 * One invocation of the plugin, start to end: environment, then stdin, then
 * the command. Everything is checked before the agent is asked (a bad input
 * changes nothing). Success prints the command's output (ADD's result,
 * VERSION's versions, nothing for the others) and exits 0; failure prints
 * one CNI error object and exits 1 (CNI SPEC §"Error").
 */
import { add, check, del, gc, status } from './commands.js';
import { NEWEST_VERSION, parseConfig, SUPPORTED_VERSIONS, type PluginConfig } from './config.js';
import { readEnvironment, type CniCommand, type CniEnvironment } from './env.js';
import { CniError } from './errors.js';

/** What the entry point prints and the code it exits with. */
export interface PluginOutput {
  stdout: string;
  exitCode: 0 | 1;
}

type Command = (call: CniEnvironment, conf: PluginConfig) => Promise<unknown>;

const COMMANDS: Record<Exclude<CniCommand, 'VERSION'>, Command> = { ADD: add, DEL: del, CHECK: check, STATUS: status, GC: gc };

/** Commands a configuration of an older version may not ask for (they came with 1.1.0). */
const SINCE_1_1: readonly CniCommand[] = ['STATUS', 'GC'];

/** VERSION's answer. */
export function versionInfo(): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: NEWEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

/**
 * Runs one call: `env` is the process environment, `readStdin` yields the
 * network configuration (not read for VERSION). Never throws.
 */
export async function runPlugin(env: NodeJS.ProcessEnv, readStdin: () => Promise<string>): Promise<PluginOutput> {
  let version = NEWEST_VERSION;
  try {
    const call = readEnvironment(env);
    if (call.command === 'VERSION') return print(versionInfo());
    let text: string;
    try {
      text = await readStdin();
    } catch (err) {
      throw new CniError('IO_FAILURE', 'could not read the network configuration from stdin', (err as Error).message);
    }
    version = declaredVersion(text) ?? version;
    const conf = parseConfig(text);
    if (SINCE_1_1.includes(call.command) && conf.cniVersion === '1.0.0') {
      throw new CniError('INCOMPATIBLE_VERSION', `${call.command} needs CNI 1.1.0; the configuration has cniVersion ${conf.cniVersion}`);
    }
    return print(await COMMANDS[call.command](call, conf));
  } catch (err) {
    const e = err instanceof CniError ? err : new CniError('INTERNAL', `overlayd-cni failed: ${(err as Error).message}`, (err as Error).stack);
    return { stdout: JSON.stringify(e.toObject(version)) + '\n', exitCode: 1 };
  }
}

function print(out: unknown): PluginOutput {
  return { stdout: out === undefined ? '' : JSON.stringify(out, null, 2) + '\n', exitCode: 0 };
}

/** The configuration's cniVersion when it has a readable one (errors answer in it), else undefined. */
function declaredVersion(text: string): string | undefined {
  try {
    const v = (JSON.parse(text) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && v !== '' ? v : undefined;
  } catch {
    return undefined;
  }
}

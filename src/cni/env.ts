/**
 * The CNI_* environment a runtime sets for a call (CNI SPEC §"Parameters"),
 * read and checked before anything else happens. Which variables a command
 * needs follows the reference plugins' skeleton: ADD and CHECK need the
 * container id, netns, interface name and path; DEL the same but the netns,
 * which a runtime may leave empty (ctr does once the task has died); STATUS
 * and GC only the path; VERSION nothing.
 */
import { CniError } from './errors.js';

/** The operations of CNI 1.1.0. */
export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** One call's parameters from the environment. */
export interface CniEnvironment {
  command: CniCommand;
  /** CNI_CONTAINERID (ADD, DEL, CHECK). */
  containerId?: string;
  /** CNI_NETNS: a path to the container's network namespace (absent on a late DEL). */
  netns?: string;
  /** CNI_IFNAME: the interface to create inside the namespace (ADD, DEL, CHECK). */
  ifname?: string;
  /** CNI_PATH, split at ':' (we delegate to nobody, but the spec requires it). */
  path?: string[];
  /** CNI_ARGS as KEY=VALUE pairs (read and checked, not used). */
  args: Record<string, string>;
}

type Need = 'containerId' | 'netns' | 'ifname' | 'path';

const NEEDS: Record<CniCommand, Need[]> = {
  ADD: ['containerId', 'netns', 'ifname', 'path'],
  CHECK: ['containerId', 'netns', 'ifname', 'path'],
  DEL: ['containerId', 'ifname', 'path'],
  STATUS: ['path'],
  GC: ['path'],
  VERSION: [],
};

const VARIABLE: Record<Need, string> = { containerId: 'CNI_CONTAINERID', netns: 'CNI_NETNS', ifname: 'CNI_IFNAME', path: 'CNI_PATH' };

/** The reference skeleton's rule for container ids. */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Reads the call from `env`. Throws INVALID_ENVIRONMENT (code 4) naming the
 * variable when one the command needs is missing or malformed.
 */
export function readEnvironment(env: NodeJS.ProcessEnv): CniEnvironment {
  const raw = env.CNI_COMMAND;
  if (raw === undefined || raw === '') throw new CniError('INVALID_ENVIRONMENT', 'CNI_COMMAND is not set');
  if (!(CNI_COMMANDS as readonly string[]).includes(raw)) {
    throw new CniError('INVALID_ENVIRONMENT', `CNI_COMMAND "${raw}" is not one of ${CNI_COMMANDS.join(', ')}`);
  }
  const command = raw as CniCommand;
  const value = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
  const call: CniEnvironment = {
    command,
    containerId: value(env.CNI_CONTAINERID),
    netns: value(env.CNI_NETNS),
    ifname: value(env.CNI_IFNAME),
    path: value(env.CNI_PATH)?.split(':').filter(Boolean),
    args: parseArgs(env.CNI_ARGS ?? ''),
  };
  for (const need of NEEDS[command]) {
    if (call[need] === undefined) throw new CniError('INVALID_ENVIRONMENT', `${VARIABLE[need]} is not set (${command} needs it)`);
  }
  if (call.containerId !== undefined && !CONTAINER_ID.test(call.containerId)) {
    throw new CniError('INVALID_ENVIRONMENT', `CNI_CONTAINERID "${call.containerId}" has characters other than letters, digits, _ . -`);
  }
  if (call.ifname !== undefined && (!/^[A-Za-z0-9_.-]{1,15}$/.test(call.ifname) || call.ifname === '.' || call.ifname === '..')) {
    // The agent's rule (Linux's limit of 15, a safe alphabet), checked here so a bad name is code 4.
    throw new CniError('INVALID_ENVIRONMENT', `CNI_IFNAME "${call.ifname}" is not an interface name: 1 to 15 letters, digits, _ . -`);
  }
  if (call.netns !== undefined && !call.netns.startsWith('/')) {
    throw new CniError('INVALID_ENVIRONMENT', `CNI_NETNS "${call.netns}" is not a path to a network namespace`);
  }
  return call;
}

/** CNI_ARGS: `K1=V1;K2=V2`. Throws INVALID_ENVIRONMENT on a pair without '='. */
function parseArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(';').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError('INVALID_ENVIRONMENT', `CNI_ARGS pair "${pair}" is not KEY=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * Finding and removing what the harness creates, by name prefix: network
 * namespaces (/run/netns), links in the root namespace, and wireguard-go UAPI
 * sockets (/var/run/wireguard, shared by all namespaces). Processes still
 * inside a namespace are killed first, since `ip netns del` alone would leave
 * the namespace alive as long as they run.
 */
import { readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { sh, shSync } from './exec.js';

/** Where `ip netns` keeps its named namespaces. */
export const NETNS_DIR = '/run/netns';
/** Where wireguard-go puts its UAPI sockets, whatever namespace it runs in. */
export const WIREGUARD_SOCKET_DIR = '/var/run/wireguard';

/** Everything found under one name prefix. */
export interface PrefixedResources {
  /** Named network namespaces. */
  namespaces: string[];
  /** Links in the root network namespace. */
  links: string[];
  /** wireguard-go UAPI socket files (`<name>.sock`). */
  sockets: string[];
}

/** Lists namespaces, root links and UAPI sockets whose name starts with `prefix` (synchronous). */
export function listByPrefix(prefix: string): PrefixedResources {
  return {
    namespaces: readNames(NETNS_DIR).filter((n) => n.startsWith(prefix)).sort(),
    links: parseLinkNames(shSync(['ip', '-o', 'link', 'show'])).filter((n) => n.startsWith(prefix)).sort(),
    sockets: readNames(WIREGUARD_SOCKET_DIR).filter((n) => n.startsWith(prefix)).sort(),
  };
}

/** True when nothing carries `prefix`. */
export function isEmpty(found: PrefixedResources): boolean {
  return found.namespaces.length + found.links.length + found.sockets.length === 0;
}

/**
 * Kills the processes inside, then deletes every namespace, root link and
 * UAPI socket whose name starts with `prefix`. Never throws; returns what it
 * found before removing.
 */
export async function removeByPrefix(prefix: string): Promise<PrefixedResources> {
  const found = listByPrefix(prefix);
  await Promise.all(found.namespaces.map((ns) => killNamespacePids(ns)));
  await Promise.all([
    ...found.namespaces.map((ns) => sh(['ip', 'netns', 'del', ns]).catch(() => undefined)),
    ...found.links.map((l) => sh(['ip', 'link', 'del', l]).catch(() => undefined)),
    ...found.sockets.map((s) => rm(`${WIREGUARD_SOCKET_DIR}/${s}`, { force: true }).catch(() => undefined)),
  ]);
  return found;
}

/** Kills the processes inside namespace `ns` and deletes it (exactly that name). Never throws. */
export async function removeNamespace(ns: string): Promise<void> {
  await killNamespacePids(ns);
  await sh(['ip', 'netns', 'del', ns]).catch(() => undefined);
}

/** {@link removeByPrefix} for exit handlers: synchronous, never throws. */
export function removeByPrefixSync(prefix: string): PrefixedResources {
  let found: PrefixedResources = { namespaces: [], links: [], sockets: [] };
  try {
    found = listByPrefix(prefix);
  } catch {
    return found;
  }
  for (const ns of found.namespaces) {
    ignore(() => killPids(parsePids(shSync(['ip', 'netns', 'pids', ns]))));
    ignore(() => shSync(['ip', 'netns', 'del', ns]));
  }
  for (const link of found.links) ignore(() => shSync(['ip', 'link', 'del', link]));
  for (const s of found.sockets) ignore(() => rmSync(`${WIREGUARD_SOCKET_DIR}/${s}`, { force: true }));
  return found;
}

async function killNamespacePids(ns: string): Promise<void> {
  const out = await sh(['ip', 'netns', 'pids', ns]).catch(() => ({ stdout: '' }));
  killPids(parsePids(out.stdout));
}

function killPids(pids: number[]): void {
  for (const pid of pids) {
    if (pid === process.pid) continue;
    ignore(() => process.kill(pid, 'SIGKILL'));
  }
}

function parsePids(text: string): number[] {
  return text
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Interface names from `ip -o link show` (`2: name@peer: <...`). */
export function parseLinkNames(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)[@:]/.exec(line);
    if (m?.[1]) names.push(m[1]);
  }
  return names;
}

function readNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function ignore(action: () => unknown): void {
  try {
    action();
  } catch {
    // Clean-up is best effort; the leak check reports what survives.
  }
}

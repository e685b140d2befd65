/**
 * What CHECK looks at inside the container: one interface of a network
 * namespace given by path, read with `nsenter --net=PATH ip -json addr show`
 * (the plugin runs as root, as runtimes run plugins).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CniError } from './errors.js';

/** An interface as CHECK compares it. */
export interface SandboxInterface {
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  /** "IP/PREFIX", every family. */
  addresses: string[];
}

interface IpAddrJson {
  ifname: string;
  mtu: number;
  address?: string;
  flags?: string[];
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** Throws INVALID_ENVIRONMENT when `path` is no network namespace file that exists. */
export function requireNetns(path: string): void {
  if (!existsSync(path)) throw new CniError('INVALID_ENVIRONMENT', `CNI_NETNS ${path} does not exist`);
}

/**
 * Interface `ifname` in the namespace at `path`, or undefined when there is
 * none by that name. Throws INVALID_ENVIRONMENT when the namespace is gone.
 */
export async function readInterface(path: string, ifname: string): Promise<SandboxInterface | undefined> {
  requireNetns(path);
  const { code, stdout, stderr } = await run('nsenter', [`--net=${path}`, 'ip', '-json', 'addr', 'show', 'dev', ifname]);
  if (code !== 0) {
    if (/does not exist|cannot find device/i.test(stderr)) return undefined;
    throw new CniError('CHECK_FAILED', `could not read ${ifname} in ${path}: ${stderr.trim() || `exit ${code}`}`);
  }
  const links = JSON.parse(stdout) as IpAddrJson[];
  const link = links.find((l) => l.ifname === ifname);
  if (!link) return undefined;
  return {
    name: link.ifname,
    mac: (link.address ?? '').toLowerCase(),
    mtu: link.mtu,
    up: (link.flags ?? []).includes('UP'),
    addresses: (link.addr_info ?? []).filter((a) => a.family === 'inet' || a.family === 'inet6').map((a) => `${a.local}/${a.prefixlen}`),
  };
}

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: err && !stderr ? err.message : stderr });
    });
  });
}

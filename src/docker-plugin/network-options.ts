/**
 * The `-o KEY=VALUE` options of `docker network create -d overlayd`, as
 * CreateNetwork carries them (`Options["com.docker.network.generic"]`):
 *
 *   encrypted=true|false   an encrypted overlay (ESP); `-o encrypted` alone means true, as with Docker's overlay
 *   vni=N                  pin the VNI (1..16777215)
 *   name=NAME              the overlayd network's name (default docker-<subnet>)
 *   multicast=true|false   carry broadcast and multicast between hosts (docs/multicast.md); `-o multicast` alone means true
 *   multicast-rate=N       with multicast: storm control, replicated frames/s per host (0: no limit)
 *
 * Anything else is refused by name, so a typo does not pass silently.
 */
import { PluginError } from './server.js';

/** Docker's key for the driver options inside CreateNetwork's Options. */
export const GENERIC_OPTIONS = 'com.docker.network.generic';
const KNOWN = ['encrypted', 'vni', 'name', 'multicast', 'multicast-rate'];

export interface DockerNetworkRequest {
  subnet: string;
  encrypted: boolean;
  vni?: number;
  name?: string;
  multicast: boolean;
  multicastRate?: number;
}

/** Reads the driver options of a CreateNetwork call for the network of `subnet`. */
export function networkRequest(options: unknown, subnet: string): DockerNetworkRequest {
  const generic = ((options ?? {}) as Record<string, unknown>)[GENERIC_OPTIONS];
  const o = (generic ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || Array.isArray(o)) throw new PluginError('BAD_REQUEST', 'overlayd: driver options are not a map');
  const unknown = Object.keys(o).filter((k) => !KNOWN.includes(k));
  if (unknown.length > 0) throw new PluginError('BAD_REQUEST', `overlayd: unknown option ${unknown.map((k) => `-o ${k}`).join(', ')} (known: ${KNOWN.join(', ')})`);
  const req: DockerNetworkRequest = { subnet, encrypted: bool('encrypted', o.encrypted), multicast: bool('multicast', o.multicast) };
  if (o.vni !== undefined) {
    const v = String(o.vni);
    if (!/^\d{1,8}$/.test(v) || Number(v) < 1 || Number(v) > 0xffffff) throw new PluginError('BAD_REQUEST', `overlayd: -o vni=${v} is not a VNI (1..16777215)`);
    req.vni = Number(v);
  }
  if (o.name !== undefined) {
    const n = String(o.name);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(n)) throw new PluginError('BAD_REQUEST', `overlayd: -o name=${n} is not a valid network name`);
    req.name = n;
  }
  if (o['multicast-rate'] !== undefined) {
    const v = String(o['multicast-rate']);
    if (!req.multicast) throw new PluginError('BAD_REQUEST', 'overlayd: -o multicast-rate applies with -o multicast=true only');
    if (!/^\d{1,9}$/.test(v)) throw new PluginError('BAD_REQUEST', `overlayd: -o multicast-rate=${v} is not a rate in frames/s (0: no limit)`);
    req.multicastRate = Number(v);
  }
  return req;
}

function bool(key: string, v: unknown): boolean {
  if (v === undefined || v === false) return false;
  if (v === true || v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new PluginError('BAD_REQUEST', `overlayd: -o ${key}=${String(v)} must be true or false`);
}

/**
 * The network configuration a runtime writes to the plugin's stdin, read and
 * checked before the agent is asked anything (a bad input changes nothing):
 *
 *   {"cniVersion": "1.0.0", "name": "blue", "type": "overlayd-cni",
 *    "network": "blue", "socket": "/run/overlayd/overlayd.sock", "ip": "198.19.1.9"}
 *
 * That is what libcni hands one plugin of a list (name and cniVersion copied
 * in, `prevResult` added for CHECK and DEL, `cni.dev/valid-attachments` for
 * GC). A whole list (`{"cniVersion", "name", "plugins": [...]}`) is accepted
 * too, for people calling the plugin by hand: its `overlayd-cni` entry is used.
 */
import { ipFamily } from '../wire/ip.js';
import { CniError } from './errors.js';

/** The plugin's type, as a list names it. */
export const PLUGIN_TYPE = 'overlayd-cni';
/** The spec versions this plugin speaks, oldest first. */
export const SUPPORTED_VERSIONS = ['1.0.0', '1.1.0'] as const;
/** The newest: what VERSION and errors before the version is known report. */
export const NEWEST_VERSION = '1.1.0';
/** Where the agent's control API listens unless `socket` says otherwise. */
export const DEFAULT_SOCKET = '/run/overlayd/overlayd.sock';

/** One attachment the runtime still uses (GC's `cni.dev/valid-attachments`). */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** The checked configuration of one call. */
export interface PluginConfig {
  cniVersion: string;
  /** The CNI network's name. */
  name: string;
  /** The overlayd network to attach to (default: `name`). */
  network: string;
  /** The agent's control socket. */
  socket: string;
  /** A fixed address, else the agent's cluster-wide allocator picks one. */
  ip?: string;
  /** The result of the ADD, as the runtime cached it (CHECK, DEL). */
  prevResult?: Record<string, unknown>;
  /** GC: what the runtime still uses; absent for other commands. */
  validAttachments?: Attachment[];
}

const CNI_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Parses stdin `text`. Throws DECODING_FAILURE (6) when it is not a JSON
 * object, INCOMPATIBLE_VERSION (1) for a cniVersion we do not speak, and
 * INVALID_CONFIG (7) naming the field otherwise.
 */
export function parseConfig(text: string): PluginConfig {
  const doc = decode(text);
  const top = doc;
  let conf = doc;
  if (doc.plugins !== undefined) {
    if (!Array.isArray(doc.plugins)) throw invalid('"plugins" must be a list');
    const ours = doc.plugins.filter((p): p is Record<string, unknown> => isObject(p) && p.type === PLUGIN_TYPE);
    if (ours.length !== 1) throw invalid(`the list must hold exactly one plugin of type "${PLUGIN_TYPE}" (it holds ${ours.length})`);
    conf = { ...ours[0], cniVersion: doc.cniVersion, name: doc.name };
  }
  const cniVersion = conf.cniVersion;
  if (cniVersion === undefined) throw invalid('"cniVersion" is missing');
  if (typeof cniVersion !== 'string') throw invalid('"cniVersion" must be a string');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError('INCOMPATIBLE_VERSION', `incompatible CNI version: the configuration has ${cniVersion}, overlayd-cni speaks ${SUPPORTED_VERSIONS.join(' and ')}`);
  }
  const name = conf.name;
  if (typeof name !== 'string' || !CNI_NAME.test(name)) throw invalid('"name" must be a network name (letters, digits, _ . -)');
  const network = conf.network ?? name;
  if (typeof network !== 'string' || network === '') throw invalid('"network" must be the name of an overlayd network');
  const socket = conf.socket ?? DEFAULT_SOCKET;
  if (typeof socket !== 'string' || !socket.startsWith('/')) throw invalid('"socket" must be the absolute path of the agent\'s control socket');
  if (conf.ipam !== undefined) {
    throw invalid('"ipam" is not supported: overlayd\'s cluster-wide allocator gives the address ("ip" fixes one)');
  }
  const ip = conf.ip;
  if (ip !== undefined && (typeof ip !== 'string' || ipFamily(ip) === 0)) throw invalid(`"ip" must be an IPv4 or IPv6 address without a prefix, not ${JSON.stringify(ip)}`);
  const prevResult = conf.prevResult;
  if (prevResult !== undefined && !isObject(prevResult)) throw invalid('"prevResult" must be an object');
  const out: PluginConfig = { cniVersion, name, network, socket };
  if (ip !== undefined) out.ip = ip as string;
  if (prevResult !== undefined) out.prevResult = prevResult as Record<string, unknown>;
  const valid = conf['cni.dev/valid-attachments'] ?? top['cni.dev/valid-attachments'];
  if (valid !== undefined) out.validAttachments = attachments(valid);
  return out;
}

function decode(text: string): Record<string, unknown> {
  if (text.trim() === '') throw new CniError('DECODING_FAILURE', 'no network configuration on stdin');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CniError('DECODING_FAILURE', 'the network configuration on stdin is not JSON', (err as Error).message);
  }
  if (!isObject(doc)) throw new CniError('DECODING_FAILURE', 'the network configuration on stdin is not a JSON object');
  return doc;
}

function attachments(v: unknown): Attachment[] {
  const ok = Array.isArray(v) && v.every((a) => isObject(a) && typeof a.containerID === 'string' && typeof a.ifname === 'string');
  if (!ok) throw invalid('"cni.dev/valid-attachments" must be a list of {"containerID", "ifname"}');
  return (v as Attachment[]).map(({ containerID, ifname }) => ({ containerID, ifname }));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const invalid = (msg: string): CniError => new CniError('INVALID_CONFIG', `invalid network configuration: ${msg}`);

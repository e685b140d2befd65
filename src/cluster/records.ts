/**
 * How networks, endpoints and static peers are shown to the control API and
 * to overlayctl (`--json` field names are part of the contract).
 */
import type { EndpointEntry, EndpointRuntime, NetworkEntry } from './entries.js';
import type { EncryptionRequest } from './network-keys.js';

/** A network as the API shows it. */
export type NetworkRecord = Pick<NetworkEntry, 'name' | 'id' | 'vni' | 'subnets' | 'mtu' | 'encrypted'> & {
  /** Encrypted networks: how ESP travels and the cipher (never the keys). */
  esp?: { carrier: 'ip' | 'udp'; keyBits: 128 | 256; esn: boolean };
  /** Created with `--multicast`: broadcast and multicast are replicated (docs/multicast.md). */
  multicast: boolean;
  /** Multicast networks: the storm-control limit, replicated frames/s per host (0: none). */
  multicastRate?: number;
};

/** An endpoint as the API shows it. */
export interface EndpointRecord {
  id: string;
  network: string;
  /** The first address (IPv4 when the endpoint has one). */
  ip: string;
  /** All its addresses, IPv4 first. */
  ips: string[];
  mac: string;
  ifname: string;
  netns: string;
  /** Node that owns the endpoint. */
  node: string;
  vtep: string;
  /** What attached it: `docker`, `cni` or `manual` (overlayctl). */
  runtime: EndpointRuntime;
  /** The runtime's container id, when a runtime attached it. */
  container?: string;
}

/** A remote endpoint entered by hand (`overlayctl peer add`); never gossiped. */
export interface PeerRecord {
  network: string;
  ip: string;
  mac: string;
  vtep: string;
  /** Multicast networks: the groups it receives (canonical, sorted); absent when none were given. */
  groups?: string[];
}

export const toEndpointRecord = (e: EndpointEntry): EndpointRecord => ({
  id: e.id,
  network: e.network,
  ip: e.ips[0],
  ips: e.ips,
  mac: e.mac,
  ifname: e.ifname,
  netns: e.netns,
  node: e.owner,
  vtep: e.vtep,
  runtime: e.runtime ?? 'manual',
  ...(e.container !== undefined ? { container: e.container } : {}),
});

export function toNetworkRecord({ name, id, vni, subnets, mtu, encrypted, encryption, multicast }: NetworkEntry): NetworkRecord {
  const r: NetworkRecord = { name, id, vni, subnets, mtu, encrypted, multicast: multicast !== undefined };
  if (multicast) r.multicastRate = multicast.rate;
  if (encryption) r.esp = { carrier: encryption.carrier, keyBits: encryption.keySize === 32 ? 256 : 128, esn: encryption.esn };
  return r;
}

/** What `prepareNetwork` is asked for. */
export interface NetworkRequest {
  name: string;
  subnets: string[];
  vni?: number;
  mtu: number;
  encrypted?: boolean;
  /** Carrier and cipher of an encrypted network (defaults: ip, AES-128, ESN). */
  encryption?: EncryptionRequest;
  /** Replicate broadcast and multicast (default off). */
  multicast?: boolean;
  /** With `multicast`: storm control, frames/s (default DEFAULT_MULTICAST_RATE; 0: no limit). */
  multicastRate?: number;
}

/** What `prepareEndpoint` is asked for. */
export interface EndpointRequest {
  network: string;
  ips?: string[];
  ifname?: string;
  netns: string;
  /** Default manual. */
  runtime?: EndpointRuntime;
  container?: string;
  /** The given `ips` were held for this request by `reserveAddress` (Docker's IPAM): they count as its own. */
  reserved?: boolean;
}

/**
 * What this host knows of the overlay: networks, endpoints and static peers,
 * with every rule a change must pass (unique names and VNIs, subnets that do
 * not overlap, addresses inside their subnet and unique). Changes are made in
 * two steps — `prepare…` validates and returns the record, `commit…` stores
 * it — so the agent can do the host plumbing in between and change nothing
 * when that fails. Every commit emits `change`.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { formatIp, formatMac, ipFamily, parseIp, parseMac } from '../wire/index.js';
import { allocateAddress, cidrOverlaps, endpointMac, isHostAddress, parseCidr, type Cidr } from './cidr.js';
import { OverlayError } from './errors.js';

/** First VNI handed out automatically (Docker's). */
export const VNI_AUTO_START = 4096;
export const VNI_MAX = 0xffffff;

export interface NetworkRecord {
  name: string;
  id: string;
  vni: number;
  /** One IPv4 and/or one IPv6 subnet, canonical. */
  subnets: string[];
  mtu: number;
  encrypted: boolean;
}

export interface EndpointRecord {
  id: string;
  network: string;
  /** IPv4 and/or IPv6 addresses, canonical, without prefix. */
  ips: string[];
  mac: string;
  ifname: string;
  netns: string;
  /** Name of the node that owns the endpoint. */
  node: string;
}

/** A remote endpoint entered by hand (`overlayctl peer add`). */
export interface PeerRecord {
  network: string;
  ip: string;
  mac: string;
  vtep: string;
}

export interface StoreSnapshot {
  networks: NetworkRecord[];
  endpoints: EndpointRecord[];
  peers: PeerRecord[];
}

export interface NetworkRequest {
  name: string;
  subnets: string[];
  vni?: number;
  mtu: number;
  encrypted?: boolean;
}

export interface EndpointRequest {
  network: string;
  ips?: string[];
  ifname?: string;
  netns: string;
  node: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export class OverlayStore extends EventEmitter {
  readonly networks = new Map<string, NetworkRecord>();
  readonly endpoints = new Map<string, EndpointRecord>();
  /** Keyed by `${network}|${ip}`. */
  readonly peers = new Map<string, PeerRecord>();

  network(name: string): NetworkRecord {
    const net = this.networks.get(name);
    if (!net) throw new OverlayError('NETWORK_NOT_FOUND', `no network named ${name}`);
    return net;
  }

  prepareNetwork(req: NetworkRequest): NetworkRecord {
    if (!NAME_RE.test(req.name)) throw new OverlayError('BAD_REQUEST', `invalid network name "${req.name}"`);
    if (this.networks.has(req.name)) throw new OverlayError('NETWORK_EXISTS', `network ${req.name} already exists`);
    if (req.subnets.length === 0) throw new OverlayError('BAD_REQUEST', 'a network needs at least one --subnet');
    const cidrs = req.subnets.map((s) => {
      try {
        return parseCidr(s);
      } catch (err) {
        throw new OverlayError('BAD_REQUEST', (err as Error).message);
      }
    });
    const families = cidrs.map((c) => c.family);
    if (new Set(families).size !== families.length) {
      throw new OverlayError('BAD_REQUEST', 'at most one IPv4 and one IPv6 subnet per network');
    }
    for (const other of this.networks.values()) {
      for (const theirs of other.subnets.map(parseCidr)) {
        const clash = cidrs.find((c) => cidrOverlaps(c, theirs));
        if (clash) throw new OverlayError('SUBNET_OVERLAP', `subnet ${clash.text} overlaps ${theirs.text} of network ${other.name}`);
      }
    }
    if (!Number.isInteger(req.mtu) || req.mtu < 1280 || req.mtu > 65000) {
      throw new OverlayError('BAD_REQUEST', `invalid MTU ${req.mtu}: must be 1280..65000`);
    }
    const taken = new Set([...this.networks.values()].map((n) => n.vni));
    let vni = req.vni;
    if (vni !== undefined) {
      if (!Number.isInteger(vni) || vni < 1 || vni > VNI_MAX) throw new OverlayError('BAD_REQUEST', `invalid VNI ${vni}: must be 1..${VNI_MAX}`);
      if (taken.has(vni)) throw new OverlayError('VNI_TAKEN', `VNI ${vni} is already used by another network`);
    } else {
      for (vni = VNI_AUTO_START; taken.has(vni); vni++);
    }
    return {
      name: req.name,
      id: randomBytes(12).toString('hex'),
      vni,
      subnets: cidrs.map((c) => c.text),
      mtu: req.mtu,
      encrypted: req.encrypted ?? false,
    };
  }

  commitNetwork(net: NetworkRecord): void {
    this.networks.set(net.name, net);
    this.emit('change');
  }

  /** Endpoints and peers of the network; refuses while endpoints are attached unless `force`. */
  prepareNetworkRemoval(name: string, force: boolean): { network: NetworkRecord; endpoints: EndpointRecord[] } {
    const network = this.network(name);
    const endpoints = [...this.endpoints.values()].filter((e) => e.network === name);
    if (endpoints.length > 0 && !force) {
      throw new OverlayError('NETWORK_IN_USE', `network ${name} has ${endpoints.length} endpoint(s) attached; detach them or use --force`);
    }
    return { network, endpoints };
  }

  commitNetworkRemoval(name: string): void {
    for (const [id, e] of this.endpoints) if (e.network === name) this.endpoints.delete(id);
    for (const [k, p] of this.peers) if (p.network === name) this.peers.delete(k);
    this.networks.delete(name);
    this.emit('change');
  }

  /** Every address in use on the network: endpoints and static peers. */
  usedAddresses(network: string): Set<string> {
    const used = new Set<string>();
    for (const e of this.endpoints.values()) if (e.network === network) e.ips.forEach((ip) => used.add(ip));
    for (const p of this.peers.values()) if (p.network === network) used.add(p.ip);
    return used;
  }

  prepareEndpoint(req: EndpointRequest): EndpointRecord {
    const net = this.network(req.network);
    const ifname = req.ifname ?? 'eth0';
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname)) throw new OverlayError('BAD_REQUEST', `invalid interface name "${ifname}"`);
    const cidrs = net.subnets.map(parseCidr);
    const used = this.usedAddresses(net.name);
    const ips: string[] = [];
    for (const raw of req.ips ?? []) {
      const ip = canonicalIp(raw);
      const cidr = cidrs.find((c) => c.family === ipFamily(ip));
      if (!cidr || !isHostAddress(cidr, ip)) {
        throw new OverlayError('IP_OUTSIDE_SUBNET', `${ip} is not a usable address of network ${net.name} (${net.subnets.join(', ')})`);
      }
      if (used.has(ip) || ips.includes(ip)) throw new OverlayError('IP_IN_USE', `${ip} is already in use on network ${net.name}`);
      if (ips.some((x) => ipFamily(x) === cidr.family)) throw new OverlayError('BAD_REQUEST', 'one address per family');
      ips.push(ip);
    }
    for (const cidr of cidrs) {
      if (ips.some((x) => ipFamily(x) === cidr.family)) continue;
      const ip = allocateAddress(cidr, used);
      if (!ip) throw new OverlayError('SUBNET_FULL', `no free address left in ${cidr.text}`);
      ips.push(ip);
    }
    ips.sort((a, b) => ipFamily(a) - ipFamily(b));
    const mac = endpointMac(ips[0]);
    return { id: randomBytes(16).toString('hex'), network: net.name, ips, mac, ifname, netns: req.netns, node: req.node };
  }

  commitEndpoint(ep: EndpointRecord): void {
    this.endpoints.set(ep.id, ep);
    this.emit('change');
  }

  /** Finds an endpoint by its id or a unique prefix of it (at least 4 characters). */
  endpoint(idOrPrefix: string): EndpointRecord {
    const exact = this.endpoints.get(idOrPrefix);
    if (exact) return exact;
    const matches = idOrPrefix.length >= 4 ? [...this.endpoints.values()].filter((e) => e.id.startsWith(idOrPrefix)) : [];
    if (matches.length === 1) return matches[0];
    throw new OverlayError('ENDPOINT_NOT_FOUND', matches.length > 1 ? `endpoint id ${idOrPrefix} is ambiguous` : `no endpoint with id ${idOrPrefix}`);
  }

  commitEndpointRemoval(id: string): void {
    this.endpoints.delete(id);
    this.emit('change');
  }

  preparePeer(req: PeerRecord): PeerRecord {
    const net = this.network(req.network);
    const ip = canonicalIp(req.ip);
    const vtep = canonicalIp(req.vtep);
    let mac: string;
    try {
      mac = formatMac(parseMac(req.mac));
    } catch {
      throw new OverlayError('BAD_REQUEST', `invalid MAC address "${req.mac}"`);
    }
    if (parseMac(mac)[0] & 1) throw new OverlayError('BAD_REQUEST', `${mac} is a group address, not an endpoint MAC`);
    const cidr = net.subnets.map(parseCidr).find((c: Cidr) => c.family === ipFamily(ip));
    if (!cidr || !isHostAddress(cidr, ip)) throw new OverlayError('IP_OUTSIDE_SUBNET', `${ip} is not a usable address of network ${net.name}`);
    if (this.usedAddresses(net.name).has(ip)) throw new OverlayError('IP_IN_USE', `${ip} is already in use on network ${net.name}`);
    for (const p of this.peers.values()) {
      if (p.network === net.name && p.mac === mac && p.vtep !== vtep) {
        throw new OverlayError('MAC_CONFLICT', `${mac} is already behind VTEP ${p.vtep} on network ${net.name}`);
      }
    }
    for (const e of this.endpoints.values()) {
      if (e.network === net.name && e.mac === mac) throw new OverlayError('MAC_CONFLICT', `${mac} belongs to local endpoint ${e.id.slice(0, 12)}`);
    }
    return { network: net.name, ip, mac, vtep };
  }

  commitPeer(peer: PeerRecord): void {
    this.peers.set(`${peer.network}|${peer.ip}`, peer);
    this.emit('change');
  }

  peer(network: string, ip: string): PeerRecord {
    this.network(network);
    const p = this.peers.get(`${network}|${canonicalIp(ip)}`);
    if (!p) throw new OverlayError('PEER_NOT_FOUND', `no static peer ${ip} on network ${network}`);
    return p;
  }

  commitPeerRemoval(peer: PeerRecord): void {
    this.peers.delete(`${peer.network}|${peer.ip}`);
    this.emit('change');
  }

  snapshot(): StoreSnapshot {
    return { networks: [...this.networks.values()], endpoints: [...this.endpoints.values()], peers: [...this.peers.values()] };
  }

  load(s: StoreSnapshot): void {
    for (const n of s.networks ?? []) this.networks.set(n.name, n);
    for (const e of s.endpoints ?? []) this.endpoints.set(e.id, e);
    for (const p of s.peers ?? []) this.peers.set(`${p.network}|${p.ip}`, p);
  }
}

/** Canonical text of an IP address, or a BAD_REQUEST naming the bad input. */
export function canonicalIp(text: string): string {
  try {
    return formatIp(parseIp(text));
  } catch {
    throw new OverlayError('BAD_REQUEST', `invalid IP address "${text}"`);
  }
}

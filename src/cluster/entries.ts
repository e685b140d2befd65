/**
 * What agents agree on, entry by entry (Docker's NetworkDB, kept small):
 * networks, endpoints, and the multicast groups joined on each host. Every entry carries the node that last wrote it and
 * a Lamport time; the newer write wins, ties broken by node name. A delete is
 * a tombstone that lives on (30 min by default) so a slow peer cannot bring
 * the entry back. `created` is the Lamport time of the entry's creation and
 * never changes: conflicts (an address or a VNI claimed twice) are settled in
 * favour of the earlier claim.
 */
import type { DocumentSignature } from '../identity/index.js';
import type { NetworkEncryptionEntry } from './network-keys.js';

export interface EntryMeta {
  /** The node that wrote this version (for endpoints: always the node that has it). */
  owner: string;
  /** Lamport time of this version. */
  ltime: number;
  /** Lamport time the entry was created at (conflicts go to the earlier claim). */
  created: number;
  /** A tombstone. */
  deleted: boolean;
  /** The owner's signature over the rest (clusters with a CA, signed-entries.ts). */
  sig?: DocumentSignature;
}

export interface NetworkEntry extends EntryMeta {
  kind: 'network';
  name: string;
  id: string;
  vni: number;
  /** One IPv4 and/or one IPv6 subnet, canonical. */
  subnets: string[];
  mtu: number;
  encrypted: boolean;
  /** Carrier, cipher and key ring of an encrypted network (absent on plain networks and tombstones). */
  encryption?: NetworkEncryptionEntry;
  /**
   * Set on a network created with `--multicast` (docs/multicast.md): broadcast
   * and multicast are replicated, at most `rate` frames/s per host (0: no
   * limit). Absent: as before the setting existed, so older agents are unchanged.
   */
  multicast?: { rate: number };
}

export interface EndpointEntry extends EntryMeta {
  kind: 'endpoint';
  id: string;
  /** Network name, and the id of the network it was attached to. */
  network: string;
  networkId: string;
  /** IPv4 and/or IPv6 addresses, canonical, no prefix. */
  ips: string[];
  mac: string;
  /** Underlay address of the owner: where its frames go. */
  vtep: string;
  ifname: string;
  netns: string;
  /** Who attached it: a container runtime's plugin, or an operator by hand (absent: manual, as agents before it sent). */
  runtime?: EndpointRuntime;
  /** The runtime's id of the container holding it (Docker endpoint/container id, CNI container id). */
  container?: string;
}

/** What attached an endpoint; `perf` marks the short-lived test endpoints of `overlayctl perf`. */
export type EndpointRuntime = 'docker' | 'cni' | 'manual' | 'perf';
export const ENDPOINT_RUNTIMES: readonly EndpointRuntime[] = ['docker', 'cni', 'manual', 'perf'];
/** The runtimes a front-end may name when it attaches (perf endpoints are the agent's own). */
export const ATTACH_RUNTIMES: readonly EndpointRuntime[] = ['docker', 'cni', 'manual'];

/**
 * A multicast group joined on one host (docs/multicast.md "Groups in
 * gossip"): one entry per (network, group, host), written only by that host
 * (`owner`), with the endpoint entries' Lamport, tombstone and liveness rules.
 */
export interface GroupEntry extends EntryMeta {
  kind: 'group';
  /** Network name, and the id of the network it was joined on. */
  network: string;
  networkId: string;
  /** The group address, canonical (wire/multicast.ts canonicalGroup). */
  group: string;
  /** Underlay address of the owner: where the group's copies go. */
  vtep: string;
  /** The ids of the owner's endpoints that listen (empty on a tombstone). */
  endpoints: string[];
}

/** The most endpoint ids one group entry carries (a host has no more endpoints on a network than this, in practice). */
export const MAX_GROUP_ENDPOINTS = 256;

export type Entry = NetworkEntry | EndpointEntry | GroupEntry;

type KeyFields = Pick<NetworkEntry, 'kind' | 'name'> | Pick<EndpointEntry, 'kind' | 'id'> | Pick<GroupEntry, 'kind' | 'network' | 'group' | 'owner'>;

export function entryKey(e: KeyFields): string {
  if (e.kind === 'network') return `network/${e.name}`;
  if (e.kind === 'endpoint') return `endpoint/${e.id}`;
  return groupKey(e.network, e.group, e.owner);
}

export const groupKey = (network: string, group: string, owner: string): string => `group/${network}/${group}/${owner}`;

/** Whether version `a` supersedes version `b` of the same entry. */
export function supersedes(a: EntryMeta, b: EntryMeta): boolean {
  if (a.ltime !== b.ltime) return a.ltime > b.ltime;
  if (a.owner !== b.owner) return a.owner > b.owner;
  return a.deleted && !b.deleted;
}

/**
 * Whether claim `a` came before claim `b`: a signed claim before an unsigned
 * one whatever the stamps (an unsigned node cannot take a signed node's
 * address or VNI by back-dating, docs/identity.md), then earlier creation,
 * smaller owner name, key.
 */
export function claimedFirst(a: Entry, b: Entry): boolean {
  if ((a.sig === undefined) !== (b.sig === undefined)) return a.sig !== undefined;
  if (a.created !== b.created) return a.created < b.created;
  if (a.owner !== b.owner) return a.owner < b.owner;
  return entryKey(a) < entryKey(b);
}

/** A Lamport clock: ticks on every local write, jumps past every time it witnesses. */
export class LamportClock {
  constructor(public time = 0) {}

  tick(): number {
    return ++this.time;
  }

  witness(t: number): void {
    if (t >= this.time) this.time = t + 1;
  }
}

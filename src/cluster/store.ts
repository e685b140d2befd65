/**
 * What this host knows of the overlay: the replicated networks, endpoints and
 * multicast groups (src/cluster/entries.ts), the liveness of their owners as gossip reports
 * it, and the static peers entered by hand here.
 *
 * Local changes are made in two steps — `prepare…` validates and returns the
 * record, `commit…` stores it — so the agent can do the host plumbing in
 * between and change nothing when that fails. A commit emits `local` with the
 * entry to announce; anything that changes what the tables should hold emits
 * `change`. Remote entries go through `merge`: checked, newest write wins.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { endpointMac, parseCidr } from '../wire/index.js';
import { AddressReservations, allocateStriped, canonicalIp, completeAddresses, requestedAddresses, stripeOf, withinRanges } from './addresses.js';
import { claimedFirst, entryKey, groupKey, LamportClock, supersedes } from './entries.js';
import type { EndpointEntry, Entry, GroupEntry, NetworkEntry } from './entries.js';
import { OverlayError } from './errors.js';
import { checkEndpoint, checkGroup, checkNetwork, REJECT_REASONS, wellFormed, type RejectReason } from './validate.js';
import { multicastSetting, requestedSubnets } from './network-request.js';
import { preparePeer } from './static-peers.js';
import { OPEN_GUARD, type EntryGuard } from './signed-entries.js';
import { newEncryption, pendingKey, rotated } from './network-keys.js';
import type { EndpointRequest, NetworkRequest, PeerRecord } from './records.js';

export * from './records.js';
export { canonicalIp } from './addresses.js';

/** First VNI handed out automatically (Docker's). */
export const VNI_AUTO_START = 4096;
export const VNI_MAX = 0xffffff;
/** How long a tombstone is kept (DESIGN.md §4.2). */
export const TOMBSTONE_MS = 30 * 60_000;

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

export interface StoreSnapshot {
  clock: number;
  entries: Entry[];
  peers: PeerRecord[];
}

export class OverlayStore extends EventEmitter {
  readonly clock = new LamportClock();
  /** Static peers, keyed by `${network}|${ip}`. */
  readonly peers = new Map<string, PeerRecord>();
  /** Remote entries refused, by reason. */
  readonly rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  /** Addresses held on this host for endpoints about to be created (addresses.ts). */
  readonly reservations: AddressReservations;
  /** Signs what this node writes and admits what others wrote (signed-entries.ts); open without a CA. */
  guard: EntryGuard = OPEN_GUARD;
  private readonly entries = new Map<string, Entry>();
  private readonly tombstonedAt = new Map<string, number>();
  private readonly members = new Map<string, { state: MemberState; addr: string }>();

  /**
   * @param self this node's name
   * @param vtep this node's underlay address
   */
  constructor(
    readonly self: string,
    readonly vtep: string,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.reservations = new AddressReservations(now);
  }

  // ---- views --------------------------------------------------------------

  /** Live networks, by name. */
  networks(): NetworkEntry[] {
    return this.live<NetworkEntry>('network').sort((a, b) => a.name.localeCompare(b.name));
  }

  findNetwork(name: string): NetworkEntry | undefined {
    const e = this.entries.get(entryKey({ kind: 'network', name }));
    return e && !e.deleted ? (e as NetworkEntry) : undefined;
  }

  network(name: string): NetworkEntry {
    const net = this.findNetwork(name);
    if (!net) throw new OverlayError('NETWORK_NOT_FOUND', `no network named ${name}`);
    return net;
  }

  /** Live endpoints whose owner is reachable (or this node), optionally of one network. */
  endpoints(network?: string): EndpointEntry[] {
    return this.live<EndpointEntry>('endpoint').filter((e) => (network === undefined || e.network === network) && this.visible(e));
  }

  /** This node's own live endpoints. */
  localEndpoints(network?: string): EndpointEntry[] {
    return this.endpoints(network).filter((e) => e.owner === this.self);
  }

  /** Whether the data path should carry traffic to the endpoint (or group member): its owner is up and really at its VTEP. */
  visible(e: EndpointEntry | GroupEntry): boolean {
    if (e.owner === this.self) return true;
    const m = this.members.get(e.owner);
    return m !== undefined && (m.state === 'alive' || m.state === 'suspect') && m.addr === e.vtep && this.guard.trusted(e);
  }

  /** Every entry, tombstones included (push/pull state). */
  allEntries(): Entry[] {
    return [...this.entries.values()];
  }

  // ---- networks -----------------------------------------------------------

  prepareNetwork(req: NetworkRequest): NetworkEntry {
    if (this.findNetwork(req.name)) throw new OverlayError('NETWORK_EXISTS', `network ${req.name} already exists`);
    const cidrs = requestedSubnets(req, this.networks());
    const multicast = multicastSetting(req);
    let vni = req.vni;
    if (vni !== undefined) {
      if (!Number.isInteger(vni) || vni < 1 || vni > VNI_MAX) throw new OverlayError('BAD_REQUEST', `invalid VNI ${vni}: must be 1..${VNI_MAX}`);
      const holder = this.networks().find((n) => n.vni === vni);
      if (holder) throw new OverlayError('VNI_TAKEN', `VNI ${vni} is already used by network ${holder.name}`);
    } else {
      vni = this.freeVni();
    }
    const net: NetworkEntry = {
      kind: 'network',
      name: req.name,
      id: randomBytes(12).toString('hex'),
      vni,
      subnets: cidrs.map((c) => c.text),
      mtu: req.mtu,
      encrypted: req.encrypted ?? false,
      ...(multicast && { multicast }),
      owner: this.self,
      ltime: 0,
      created: 0,
      deleted: false,
    };
    if (net.encrypted) net.encryption = newEncryption(req.encryption ?? {}, this.now());
    return net;
  }

  /**
   * One rotation step of an encrypted network's key ring (network-keys.ts):
   * the key distributed at the previous step starts sending, a fresh one is
   * distributed. Returns the new entry.
   */
  commitKeyRotation(name: string): NetworkEntry {
    const net = this.network(name);
    if (!net.encryption) throw new OverlayError('BAD_REQUEST', `network ${name} is not encrypted: it has no keys to rotate`);
    return this.commitNetwork({ ...net, encryption: rotated(net.encryption, this.now()) });
  }

  /** The key the next rotation of `name` promotes (undefined for a plain network). */
  pendingKey(name: string): ReturnType<typeof pendingKey> {
    const enc = this.network(name).encryption;
    return enc && pendingKey(enc);
  }

  /** The lowest VNI from 4096 up that no known network (tombstones included, so a late peer cannot clash) holds. */
  freeVni(): number {
    const taken = new Set(this.allEntries().filter((e): e is NetworkEntry => e.kind === 'network').map((n) => n.vni));
    let vni = VNI_AUTO_START;
    while (taken.has(vni)) vni++;
    return vni;
  }

  commitNetwork(net: NetworkEntry): NetworkEntry {
    const t = this.clock.tick();
    return this.writeLocal({ ...net, owner: this.self, ltime: t, created: net.created || t });
  }

  /** Refuses while endpoints are attached anywhere, unless `force`. */
  prepareNetworkRemoval(name: string, force: boolean): { network: NetworkEntry; endpoints: EndpointEntry[] } {
    const network = this.network(name);
    const endpoints = this.live<EndpointEntry>('endpoint').filter((e) => e.network === name);
    if (endpoints.length > 0 && !force) {
      const nodes = [...new Set(endpoints.map((e) => e.owner))].join(', ');
      throw new OverlayError('NETWORK_IN_USE', `network ${name} has ${endpoints.length} endpoint(s) attached (on ${nodes}); detach them or use --force`);
    }
    return { network, endpoints };
  }

  /** Tombstones the network and this node's endpoints on it; other nodes remove theirs when they see it. */
  commitNetworkRemoval(name: string): void {
    this.reservations.dropNetwork(name);
    for (const e of [...this.localEndpoints(name), ...this.localGroups(name)]) this.writeLocal({ ...e, deleted: true, ltime: this.clock.tick() });
    for (const [k, p] of this.peers) if (p.network === name) this.peers.delete(k);
    const { encryption: _keys, ...net } = this.network(name); // a tombstone keeps no keys
    this.writeLocal({ ...net, owner: this.self, deleted: true, ltime: this.clock.tick() });
  }

  // ---- endpoints ----------------------------------------------------------

  /** Every address in use on the network: endpoints (of any node), static peers and this host's reservations. */
  usedAddresses(network: string): Set<string> {
    const used = new Set<string>(this.reservations.of(network));
    for (const e of this.live<EndpointEntry>('endpoint')) if (e.network === network) e.ips.forEach((ip) => used.add(ip));
    for (const p of this.peers.values()) if (p.network === network) used.add(p.ip);
    return used;
  }

  prepareEndpoint(req: EndpointRequest): EndpointEntry {
    const net = this.network(req.network);
    const ifname = req.ifname ?? 'eth0';
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname)) throw new OverlayError('BAD_REQUEST', `invalid interface name "${ifname}"`);
    const used = this.usedAddresses(net.name);
    const ips = requestedAddresses(net, used, req.ips ?? [], (ip) => req.reserved === true && this.reservations.holds(net.name, ip));
    const all = this.allocate(net, used, ips);
    return {
      kind: 'endpoint',
      id: randomBytes(16).toString('hex'),
      network: net.name,
      networkId: net.id,
      ips: all,
      mac: endpointMac(all[0]),
      vtep: this.vtep,
      ifname,
      netns: req.netns,
      runtime: req.runtime ?? 'manual',
      ...(req.container !== undefined ? { container: req.container } : {}),
      owner: this.self,
      ltime: 0,
      created: 0,
      deleted: false,
    };
  }

  /** `given` plus an allocated address for each family of the network it lacks (this member's stripe, or its certificate's range, first), IPv4 first. */
  allocate(net: NetworkEntry, used: Set<string>, given: string[] = []): string[] {
    const ranges = this.guard.ranges();
    if (ranges.length > 0) return completeAddresses(withinRanges(net, ranges, given), used, given, { stripe: 0, stripes: 1 });
    return completeAddresses(net, used, given, stripeOf(this.self, this.liveMembers()));
  }

  /**
   * Holds an address of `network` for an endpoint about to be created here:
   * `ip` when given (refused when in use or outside the subnet), else one of
   * `family` allocated. Returns it.
   */
  reserveAddress(network: string, ip?: string, family: 4 | 6 = 4, ttlMs?: number): string {
    const net = this.network(network);
    let chosen: string;
    if (ip !== undefined) {
      chosen = canonicalIp(ip);
      this.prepareEndpoint({ network, ips: [chosen], netns: '' }); // validates, allocates nothing kept
    } else {
      const cidr = net.subnets.map(parseCidr).find((c) => c.family === family);
      if (!cidr) throw new OverlayError('BAD_REQUEST', `network ${net.name} has no IPv${family} subnet`);
      const { stripe, stripes } = stripeOf(this.self, this.liveMembers());
      const found = allocateStriped(cidr, this.usedAddresses(net.name), stripe, stripes);
      if (!found) throw new OverlayError('SUBNET_FULL', `no free address left in ${cidr.text}`);
      chosen = found;
    }
    this.reservations.reserve(net.name, chosen, ttlMs);
    return chosen;
  }

  commitEndpoint(ep: EndpointEntry): EndpointEntry {
    for (const ip of ep.ips) this.reservations.release(ep.network, ip);
    const t = this.clock.tick();
    return this.writeLocal({ ...ep, owner: this.self, vtep: this.vtep, ltime: t, created: ep.created || t });
  }

  /** Finds an endpoint by its id or a unique prefix of it (at least 4 characters). */
  endpoint(idOrPrefix: string): EndpointEntry {
    const all = this.live<EndpointEntry>('endpoint');
    const exact = all.find((e) => e.id === idOrPrefix);
    if (exact) return exact;
    const matches = idOrPrefix.length >= 4 ? all.filter((e) => e.id.startsWith(idOrPrefix)) : [];
    if (matches.length === 1) return matches[0];
    throw new OverlayError('ENDPOINT_NOT_FOUND', matches.length > 1 ? `endpoint id ${idOrPrefix} is ambiguous` : `no endpoint with id ${idOrPrefix}`);
  }

  commitEndpointRemoval(id: string): void {
    const e = this.endpoint(id);
    this.writeLocal({ ...e, deleted: true, ltime: this.clock.tick() });
  }

  /**
   * This node's endpoints that lost an address to an earlier claim (two hosts
   * allocated the same address at once): each with the address and the winner.
   */
  lostClaims(): { endpoint: EndpointEntry; ip: string; winner: EndpointEntry }[] {
    const out: { endpoint: EndpointEntry; ip: string; winner: EndpointEntry }[] = [];
    const all = this.live<EndpointEntry>('endpoint');
    for (const mine of all.filter((e) => e.owner === this.self)) {
      for (const ip of mine.ips) {
        const winner = all.find((o) => o !== mine && o.network === mine.network && o.ips.includes(ip) && claimedFirst(o, mine));
        if (winner) out.push({ endpoint: mine, ip, winner });
      }
    }
    return out;
  }

  /** Networks this node created that lost their VNI to an earlier claim. */
  lostVnis(): { network: NetworkEntry; winner: NetworkEntry }[] {
    const nets = this.networks();
    return nets
      .filter((n) => n.owner === this.self)
      .flatMap((n) => {
        const winner = nets.find((o) => o !== n && o.vni === n.vni && claimedFirst(o, n));
        return winner ? [{ network: n, winner }] : [];
      });
  }

  // ---- multicast groups ---------------------------------------------------

  /** Live group entries whose owner is reachable (or this node), optionally of one network. */
  groups(network?: string): GroupEntry[] {
    return this.live<GroupEntry>('group').filter((g) => (network === undefined || g.network === network) && this.visible(g));
  }

  /** This node's own live group entries. */
  localGroups(network?: string): GroupEntry[] {
    return this.live<GroupEntry>('group').filter((g) => g.owner === this.self && (network === undefined || g.network === network));
  }

  /** Announces that `endpoints` (ids of this host's endpoints) listen to `group` on `network`; none: the group is left here. */
  commitGroup(network: string, group: string, endpoints: string[]): GroupEntry | undefined {
    const cur = this.entries.get(groupKey(network, group, this.self)) as GroupEntry | undefined;
    const ids = [...endpoints].sort();
    if (ids.length === 0) return cur && !cur.deleted ? this.writeLocal({ ...cur, endpoints: [], deleted: true, ltime: this.clock.tick() }) : undefined;
    if (cur && !cur.deleted && cur.endpoints.join() === ids.join()) return cur;
    const net = this.network(network);
    const t = this.clock.tick();
    const created = cur && !cur.deleted ? cur.created : t;
    return this.writeLocal<GroupEntry>({ kind: 'group', network, networkId: net.id, group, vtep: this.vtep, endpoints: ids, owner: this.self, ltime: t, created, deleted: false });
  }

  // ---- static peers -------------------------------------------------------

  /** Checks a static peer (static-peers.ts); returns it canonical. */
  preparePeer(req: PeerRecord): PeerRecord {
    return preparePeer(this, req);
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

  // ---- gossip -------------------------------------------------------------

  /**
   * Merges entries from another node. Returns the entries that changed something.
   * Refused entries are counted by reason. This node stays the authority on
   * its own endpoints: a stale version of one of them is answered with ours.
   */
  merge(incoming: unknown[]): Entry[] {
    const changed: Entry[] = [];
    // Networks first: endpoints are checked against them.
    const sorted = [...incoming].sort((a, b) => rank(a) - rank(b));
    for (const raw of sorted) {
      if (!wellFormed(raw)) {
        this.rejected.malformed++;
        continue;
      }
      const e = raw;
      this.clock.witness(e.ltime);
      const key = entryKey(e);
      const cur = this.entries.get(key);
      if (cur && !supersedes(e, cur)) continue;
      if (e.kind !== 'network' && e.owner === this.self) {
        // Ours: nobody else writes it. Re-assert what we hold (or its absence).
        this.writeLocal(cur ? { ...cur, ltime: this.clock.tick() } : { ...e, deleted: true, ltime: this.clock.tick() });
        continue;
      }
      const reason = this.guard.admit(e, cur) ?? this.check(e);
      if (reason) {
        this.rejected[reason]++;
        continue;
      }
      this.store(e);
      changed.push(e);
    }
    if (changed.length > 0) this.emit('change');
    return changed;
  }

  /** Records what gossip says of a node; a graceful leave forgets its endpoints. */
  setMember(name: string, state: MemberState, addr: string): void {
    if (name === this.self) return;
    const before = this.members.get(name);
    this.members.set(name, { state, addr });
    if (state === 'left') {
      for (const [k, e] of this.entries) if (e.kind !== 'network' && e.owner === name) this.entries.delete(k);
    }
    if (!before || before.state !== state || before.addr !== addr) this.emit('change');
  }

  /** Names of the members gossip reports alive or suspect (this node not included). */
  liveMembers(): string[] {
    return [...this.members].filter(([, m]) => m.state === 'alive' || m.state === 'suspect').map(([n]) => n);
  }

  memberAddr(name: string): string | undefined {
    return this.members.get(name)?.addr;
  }

  memberState(name: string): MemberState | undefined {
    return name === this.self ? 'alive' : this.members.get(name)?.state;
  }

  /** Writes again, newer and signed afresh, every entry this node wrote last that `stale` picks; returns how many. */
  rewriteOwn(stale: (e: Entry) => boolean): number {
    const mine = this.allEntries().filter((e) => e.owner === this.self && stale(e));
    for (const e of mine) this.writeLocal({ ...e, ltime: this.clock.tick() });
    return mine.length;
  }

  /** Drops tombstones older than `maxAgeMs`. */
  reapTombstones(maxAgeMs = TOMBSTONE_MS): number {
    let n = 0;
    const cutoff = this.now() - maxAgeMs;
    for (const [k, at] of this.tombstonedAt) {
      if (at > cutoff) continue;
      const e = this.entries.get(k);
      if (e?.deleted) this.entries.delete(k);
      this.tombstonedAt.delete(k);
      n++;
    }
    return n;
  }

  // ---- persistence --------------------------------------------------------

  snapshot(): StoreSnapshot {
    return { clock: this.clock.time, entries: this.allEntries(), peers: [...this.peers.values()] };
  }

  load(s: StoreSnapshot): void {
    this.clock.witness(s.clock ?? 0);
    for (const e of s.entries ?? []) if (wellFormed(e)) this.store(e);
    for (const p of s.peers ?? []) this.peers.set(`${p.network}|${p.ip}`, p);
  }

  // ---- internals ----------------------------------------------------------

  private live<T extends Entry>(kind: T['kind']): T[] {
    const out: T[] = [];
    for (const e of this.entries.values()) if (e.kind === kind && !e.deleted) out.push(e as T);
    return out;
  }

  private check(e: Entry): RejectReason | undefined {
    if (e.kind === 'network') {
      const bad = checkNetwork(e);
      if (bad) return bad;
      const holder = this.networks().find((n) => n.name !== e.name && n.vni === e.vni);
      if (!e.deleted && holder && claimedFirst(holder, e)) return 'vni_collision';
      return undefined;
    }
    if (this.members.get(e.owner)?.state === 'left' && !e.deleted) return 'owner_left';
    const ctx = { network: (n: string) => this.findNetwork(n), memberAddr: (n: string) => this.memberAddr(n) };
    return e.kind === 'group' ? checkGroup(e, ctx) : checkEndpoint(e, ctx);
  }

  private store(e: Entry): void {
    const key = entryKey(e);
    this.entries.set(key, e);
    if (e.deleted) this.tombstonedAt.set(key, this.now());
    else this.tombstonedAt.delete(key);
  }

  private writeLocal<T extends Entry>(unsigned: T): T {
    const e = this.guard.sign(unsigned);
    this.store(e);
    this.emit('local', e);
    this.emit('change');
    return e;
  }
}

const rank = (e: unknown): number => ((e as { kind?: unknown })?.kind === 'network' ? 0 : 1);

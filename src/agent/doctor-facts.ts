/**
 * What the doctor's checks look at, gathered in one go: the agent's own view
 * (config, store, gossip members, the data path's FDB as set, its counters,
 * the peers' probe rows) and this host's (links and MTUs, each container
 * interface's MTU in its namespace, the firewall of the agent's namespace,
 * the state folder). Reading never changes anything; a fact that cannot be
 * read is recorded with the reason, so its check can say so.
 */
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DropReason } from '../dataplane/datapath.js';
import { ipIn, ipJson, run } from '../host/command.js';
import { resolveNetns } from '../host/links.js';
import { underlayInterface } from '../host/mtu.js';
import { ipFamily } from '../wire/index.js';
import type { AgentContext } from './context.js';
import type { FwRuleset } from './doctor-firewall.js';
import { parseIptablesSave } from './doctor-iptables.js';
import { parseNftRuleset } from './doctor-nft.js';
import { readConntrack, readRoutes } from './doctor-underlay.js';
import { readKeys } from './doctor-keys.js';
import { mapBounded, type DoctorFacts, type EndpointFact, type FdbFact, type LinkFact, type MemberFact, type IdentityFact, type NetworkFact, type PeerHealthSource } from './doctor-report.js';

export interface FactSources {
  members(): MemberFact[];
  peerHealth?: PeerHealthSource;
  identity?(): IdentityFact;
}

/** The drop counters the doctor watches rising. */
export const WATCHED_DROPS: readonly DropReason[] = ['punt_overflow', 'tap_write', 'udp_send'];
/** How long the counters are watched (the other facts are read meanwhile). */
export const DROP_WINDOW_MS = 1000;

/** Reads every fact, the slow ones at once, while the drop counters are watched for `windowMs`. */
export async function gatherFacts(ctx: AgentContext, src: FactSources, windowMs = DROP_WINDOW_MS): Promise<DoctorFacts> {
  const started = Date.now();
  const before = watchedDrops(ctx);
  const { config } = ctx;
  const members = src.members();
  const cluster = clusterFacts(ctx);
  const vteps = [...new Set([...members.filter((m) => m.name !== config.name).map((m) => m.addr), ...cluster.staticPeers.map((p) => p.vtep)])];
  const [underlay, links, endpoints, firewall, stateDir, routes, conntrack] = await Promise.all([
    underlayInterface(config.advertiseAddr).catch((err: Error) => ({ error: err.message })),
    readLinks(),
    readEndpoints(ctx),
    readFirewall(ipFamily(config.advertiseAddr) as 4 | 6),
    checkWritable(config.stateDir),
    readRoutes(vteps),
    readConntrack(),
  ]);
  await new Promise((r) => setTimeout(r, Math.max(0, windowMs - (Date.now() - started))));
  return {
    self: {
      name: config.name,
      advertiseAddr: config.advertiseAddr,
      listenAddr: config.listenAddr,
      family: ipFamily(config.advertiseAddr) as 4 | 6,
      dataPort: config.dataPort,
      gossipPort: config.gossipPort,
      espPort: ctx.datapath.espPort || config.espPort,
      gossipKey: config.gossipKey !== undefined,
      stateDir: config.stateDir,
      keyRotationIntervalS: config.keyRotationIntervalS,
    },
    members,
    ...cluster,
    peers: src.peerHealth?.peers(),
    underlay,
    links,
    endpoints,
    firewall,
    stateDir,
    routes,
    keys: readKeys(ctx),
    identity: src.identity?.(),
    conntrack,
    drops: { seconds: (Date.now() - started) / 1000, before, after: watchedDrops(ctx) },
  };
}

function watchedDrops(ctx: AgentContext): Partial<Record<DropReason, number>> {
  const drops = ctx.datapath.counters().drops;
  return Object.fromEntries(WATCHED_DROPS.map((r) => [r, drops[r]]));
}

/** The store's and the data path's side: networks, the FDB as set, remote endpoints, static peers. */
function clusterFacts(ctx: AgentContext): Pick<DoctorFacts, 'networks' | 'fdb' | 'remoteEndpoints' | 'staticPeers'> {
  const { store } = ctx;
  const local = new Set(store.localEndpoints().map((e) => e.network));
  const networks = store.networks().map((n): NetworkFact => ({
    name: n.name,
    vni: n.vni,
    mtu: n.mtu,
    encrypted: n.encrypted,
    carrier: n.encryption?.carrier,
    keySize: n.encryption?.keySize as 16 | 32 | undefined,
    up: ctx.up.has(n.name),
    local: local.has(n.name),
  }));
  const staticPeers = [...store.peers.values()].map(({ network, ip, vtep }) => ({ network, ip, vtep }));
  const everyEndpoint = store.allEntries().filter((e) => e.kind === 'endpoint' && !e.deleted) as ReturnType<typeof store.endpoints>;
  const endpointByMac = new Map([...everyEndpoint].reverse().map((e) => [`${e.network}|${e.mac}`, e])); // the first one of a MAC wins
  const staticMacs = new Set([...store.peers.values()].map((p) => `${p.network}|${p.mac}`));
  const fdb: FdbFact[] = [];
  for (const [network, up] of ctx.up) {
    for (const [mac, vtep] of up.fdb) {
      const ep = endpointByMac.get(`${network}|${mac}`);
      if (staticMacs.has(`${network}|${mac}`)) fdb.push({ network, mac, vtep, origin: 'static' });
      else if (!ep) fdb.push({ network, mac, vtep, origin: 'none' });
      else fdb.push({ network, mac, vtep, origin: 'endpoint', owner: ep.owner, ownerState: store.memberState(ep.owner), ownerAddr: store.memberAddr(ep.owner) });
    }
  }
  const remoteEndpoints = new Map<string, string[]>();
  for (const e of everyEndpoint) if (e.owner !== store.self) remoteEndpoints.set(e.owner, [...(remoteEndpoints.get(e.owner) ?? []), e.network]);
  return { networks, fdb, remoteEndpoints, staticPeers };
}

async function readLinks(): Promise<LinkFact[] | { error: string }> {
  type IpLink = { ifname: string; mtu: number; master?: string; flags?: string[] };
  try {
    const links = await ipJson<IpLink[]>('link', 'show');
    return links.map((l) => ({ ifname: l.ifname, mtu: l.mtu, master: l.master, up: (l.flags ?? []).includes('UP') }));
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Each local endpoint's container interface MTU, read inside its namespace. */
async function readEndpoints(ctx: AgentContext): Promise<EndpointFact[]> {
  return mapBounded(ctx.store.localEndpoints(), async (ep): Promise<EndpointFact> => {
    const fact: EndpointFact = { id: ep.id, network: ep.network, netns: ep.netns, ifname: ep.ifname };
    if (ep.netns === '') return fact;
    try {
      const [link] = JSON.parse(await ipIn(resolveNetns(ep.netns), '-json', 'link', 'show', 'dev', ep.ifname)) as { mtu: number }[];
      return { ...fact, mtu: link.mtu };
    } catch (err) {
      return { ...fact, error: (err as Error).message };
    }
  });
}

/**
 * The rules of the agent's own namespace: nftables (iptables-nft included),
 * and legacy iptables of the underlay's family when that has tables here.
 */
async function readFirewall(family: 4 | 6): Promise<DoctorFacts['firewall']> {
  const rulesets: FwRuleset[] = [];
  const unreadable: string[] = [];
  try {
    rulesets.push(parseNftRuleset(JSON.parse(await run('nft', ['-j', 'list', 'ruleset']))));
  } catch (err) {
    unreadable.push(`nft: ${(err as Error).message}`);
  }
  // Legacy tables of this namespace are listed here once the module is loaded; reading nothing loads nothing.
  const names = family === 4 ? '/proc/net/ip_tables_names' : '/proc/net/ip6_tables_names';
  const legacy = family === 4 ? 'iptables-legacy' : 'ip6tables-legacy';
  if (existsSync(names) && readFileSync(names, 'utf8').trim() !== '') {
    try {
      rulesets.push(parseIptablesSave(await run(`${legacy}-save`, []), family, legacy));
    } catch (err) {
      unreadable.push(`${legacy}-save: ${(err as Error).message}`);
    }
  }
  return { rulesets, unreadable };
}

async function checkWritable(dir: string): Promise<{ error?: string }> {
  try {
    await access(dir, constants.W_OK);
    const probe = await mkdtemp(join(dir, '.doctor-'));
    await rm(probe, { recursive: true });
    return {};
  } catch (err) {
    return { error: (err as Error).message };
  }
}

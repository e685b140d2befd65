/**
 * The shapes of the doctor: the report (field names are a contract:
 * docs/debugging.md "doctor"), the facts its checks read (doctor-facts.ts
 * gathers them), and the helpers every check builds its rows with.
 */
import type { DropReason } from '../dataplane/datapath.js';
import type { NodeInfo } from '../gossip/index.js';
import type { FwRuleset } from './doctor-firewall.js';

export type DoctorStatus = 'ok' | 'warn' | 'fail';

/** One row of the report. */
export interface DoctorCheck {
  /** Stable name: `firewall-data-port`, `mtu-container`, … */
  check: string;
  status: DoctorStatus;
  /** What was found, in one line. */
  detail: string;
  /** What to do about it ('' on an ok row). */
  hint: string;
  /** What a problem row is about (a VTEP, a network, an interface, a rule); absent on summary rows. */
  subject?: string;
}

/** `GET /v1/doctor`, `overlayctl doctor --json`. */
export interface DoctorReport {
  node: string;
  time: string;
  /** The worst status of all checks. */
  status: DoctorStatus;
  counts: Record<DoctorStatus, number>;
  checks: DoctorCheck[];
}

/**
 * A remote VTEP's health as the data-path probes see it (`overlayctl peers`,
 * PeerRow of src/agent/peer-health.ts): only the fields the doctor reads.
 */
export interface PeerRow {
  vtep: string;
  /** The agent's node name; null (or absent) for a static peer, a host without an agent. */
  node?: string | null;
  networks: string[];
  state: 'up' | 'down' | 'unknown';
  /** ISO time anything last arrived from it (null: not since the agent started). */
  lastRx?: string | null;
  /** Why it is down or unknown. */
  reason?: string;
  /** Its clock minus ours, from the probes. */
  clockOffsetMs?: number | null;
}

/** Where the doctor reads the data-path probes from (the peer-health module). */
export interface PeerHealthSource {
  peers(): PeerRow[];
}

/** A cluster member as gossip sees it (`overlayctl members`). */
export type MemberFact = Pick<NodeInfo, 'name' | 'addr' | 'port' | 'state' | 'incarnation'>;

export interface NetworkFact {
  name: string;
  vni: number;
  mtu: number;
  encrypted: boolean;
  carrier?: 'ip' | 'udp';
  keySize?: 16 | 32;
  /** Brought up on this host (it has endpoints on it). */
  up: boolean;
  /** This host has endpoints on it. */
  local: boolean;
}

/** One of this host's endpoints, with its container interface's MTU as read in its namespace. */
export interface EndpointFact {
  id: string;
  network: string;
  /** '' for an endpoint whose runtime moved the interface itself (Docker): not read. */
  netns: string;
  ifname: string;
  mtu?: number;
  /** Why the MTU could not be read (the namespace or interface is gone). */
  error?: string;
}

/** An entry of the data path's FDB as the agent set it, and where it came from. */
export interface FdbFact {
  network: string;
  mac: string;
  vtep: string;
  origin: 'static' | 'endpoint' | 'none';
  owner?: string;
  /** What gossip says of the owner (undefined: never heard of it). */
  ownerState?: string;
  ownerAddr?: string;
}

export interface LinkFact {
  ifname: string;
  mtu: number;
  master?: string;
  up: boolean;
}

export interface DoctorFacts {
  self: {
    name: string;
    advertiseAddr: string;
    listenAddr: string;
    family: 4 | 6;
    dataPort: number;
    gossipPort: number;
    espPort: number;
    gossipKey: boolean;
    stateDir: string;
    /** 0: only on demand. */
    keyRotationIntervalS: number;
  };
  members: MemberFact[];
  networks: NetworkFact[];
  endpoints: EndpointFact[];
  fdb: FdbFact[];
  /** Live endpoints of other nodes, by owner: network names (a dead owner's are hidden from the data path). */
  remoteEndpoints: Map<string, string[]>;
  staticPeers: { network: string; ip: string; vtep: string }[];
  /** Undefined until a probe source is wired (doctor.ts). */
  peers?: PeerRow[];
  underlay: { ifname: string; mtu: number } | { error: string };
  links: LinkFact[] | { error: string };
  firewall: { rulesets: FwRuleset[]; unreadable: string[] };
  stateDir: { error?: string };
  /** `ip route get` of every other member's and static peer's VTEP. */
  routes: RouteFact[];
  /** The encrypted networks up here. */
  keys: KeyFact[];
  /** Node identity (`status` → `identity`); undefined when not wired. */
  identity?: IdentityFact;
  /** Undefined when conntrack is not loaded. */
  conntrack?: { count: number; max: number };
  /** Data-path drop counters sampled `seconds` apart. */
  drops: { seconds: number; before: Partial<Record<DropReason, number>>; after: Partial<Record<DropReason, number>> };
}

export interface RouteFact {
  /** The peer VTEP. */
  addr: string;
  dev?: string;
  prefsrc?: string;
  /** A path MTU the kernel holds for it (learnt from ICMP too-big). */
  mtu?: number;
  error?: string;
}

/** An encrypted network up on this host, as the data path holds its SAs. */
export interface KeyFact {
  network: string;
  /** The VTEPs its FDB sends to. */
  vteps: string[];
  /** The VTEPs with an outbound SA. */
  outbound: string[];
  /** Age of the sending key. */
  sendKeyAgeS?: number;
}

/** What the doctor reads of `status` → `identity` (identity.ts IdentityStatus). */
export interface IdentityFact {
  mode: 'unsigned' | 'signed' | 'required';
  summary: string;
  cert?: { name: string; notAfter: string; daysLeft: number };
  certificates?: { known: number; good: number; revoked: number };
}

/** One check: the facts in, its rows out. */
export type Check = (facts: DoctorFacts) => DoctorCheck[];

/** A row; `subject` only on problem rows. */
export function row(check: string, status: DoctorStatus, detail: string, hint = '', subject?: string): DoctorCheck {
  return subject === undefined ? { check, status, detail, hint } : { check, status, detail, hint, subject };
}

/** The ok row when `problems` is empty, else the problems. */
export function okUnless(check: string, problems: DoctorCheck[], okDetail: string): DoctorCheck[] {
  return problems.length > 0 ? problems : [row(check, 'ok', okDetail)];
}

/** `a, b and 3 more`: a list short enough for one line. */
export function listOf(items: string[], max = 4): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** How many host commands (`nsenter`, `ip route get`) a doctor run has going at once. */
export const DOCTOR_PARALLEL = 8;

/** `items` through `fn`, at most `limit` at a time, results in order. */
export async function mapBounded<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, limit = DOCTOR_PARALLEL): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

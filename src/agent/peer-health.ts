/**
 * Per-peer data-path health (`overlayctl peers`, docs/debugging.md): every
 * second this agent sends a VTEP probe (wire/probe.ts) to each remote VTEP of
 * each network it has an endpoint on — through the data path itself, so the
 * probe needs exactly what a container's frame needs (the data port, or the
 * network's ESP carrier and SA) — and answers the probes of others the same
 * way. Every third round the probe is full-size (the network's largest
 * frame), so an MTU black hole shows too. ProbePath (peer-probe.ts) turns
 * replies into RTT, loss and state; this file schedules, receives, reports
 * one row per VTEP and announces state changes (log and `peer` events).
 */
import { isWireError, decodeProbe, encodeProbe, type Probe } from '../wire/index.js';
import type { PeerCounters, ReceivedProbe } from '../dataplane/datapath.js';
import type { AgentContext } from './context.js';
import { DOWN_AFTER_MS, ProbePath, type PathState } from './peer-probe.js';

/** Default time between probing rounds (--peer-probe-interval). */
export const PROBE_INTERVAL_MS = 1000;
/** One round in this many sends a full-size probe instead of a small one. */
const FULL_EVERY = 3;
/** Replies this agent sends at most per second, all peers together (a member flooding probes gets no more). */
const MAX_REPLIES_PER_S = 200;

/** One row of `overlayctl peers --json` (field names are a contract). */
export interface PeerRow {
  vtep: string;
  /** The cluster member behind the VTEP; null for static peers without an agent. */
  node: string | null;
  networks: string[];
  state: PathState;
  rttMs: number | null;
  lossPct: number | null;
  /** Last time anything (probes included) arrived from / was sent to the VTEP, ISO 8601; null: not since this agent started. */
  lastRx: string | null;
  lastTx: string | null;
  txPackets: number;
  rxPackets: number;
  txBytes: number;
  rxBytes: number;
  /** The smallest MTU of the networks shared with it. */
  mtu: number;
  reason?: string;
  /** The peer's wall clock minus ours, from the last reply. */
  clockOffsetMs?: number;
}

/** What the probes did (`overlayctl stats`: `probes`). */
export interface ProbeStats {
  sent: number;
  replies: number;
  answered: number;
  /** Probe frames that did not decode (counted, dropped). */
  malformed: number;
  /** Replies that answered no probe in flight (late, or not ours). */
  stray: number;
  /** Requests not answered: over MAX_REPLIES_PER_S. */
  limited: number;
}

interface VtepTarget {
  vtep: string;
  node: string | null;
  networks: string[];
  mtu: number;
  /** Networks this host can probe it on: it has an endpoint of its own there. */
  probeable: { vni: number; network: string; maxFrame: number; carrier: string }[];
}

export class PeerHealth {
  private readonly paths = new Map<string, ProbePath>();
  private readonly states = new Map<string, PathState>();
  private readonly seen = new Map<string, { counters: PeerCounters; rxMs?: number; txMs?: number }>();
  private timer?: NodeJS.Timeout;
  /** Silence that makes a path down: four rounds, at least DOWN_AFTER_MS. */
  private downAfterMs = DOWN_AFTER_MS;
  private round = 0;
  private replyBudget = MAX_REPLIES_PER_S;
  private budgetSince = 0;
  readonly stats: ProbeStats = { sent: 0, replies: 0, answered: 0, malformed: 0, stray: 0, limited: 0 };

  constructor(
    private readonly ctx: AgentContext,
    private readonly memberAlive: (node: string) => boolean,
  ) {}

  /** Answers probes from now on, and sends them every `intervalMs` (0: never; every peer stays `unknown`). */
  start(intervalMs = PROBE_INTERVAL_MS): void {
    this.ctx.datapath.setProbeListener((p) => this.onProbe(p));
    if (intervalMs <= 0) return;
    this.downAfterMs = Math.max(DOWN_AFTER_MS, 4 * intervalMs);
    this.timer = setInterval(() => this.tick(), intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.ctx.datapath.setProbeListener(null);
  }

  /**
   * One row per remote VTEP this host sends to. With `network`, only the
   * VTEPs of that network, their state, RTT and loss from its probes alone
   * (the counters stay the VTEP's, over every network).
   */
  rows(network?: string): PeerRow[] {
    const now = Date.now();
    const counters = this.noteTraffic();
    return this.targets()
      .filter((t) => network === undefined || t.networks.includes(network))
      .map((t) => (network === undefined ? t : { ...t, probeable: t.probeable.filter((s) => s.network === network) }))
      .map((t) => this.row(t, counters.get(t.vtep), now));
  }

  /** A probing round: expire, send, look at the counters, announce state changes. */
  private tick(): void {
    const full = this.round++ % FULL_EVERY === FULL_EVERY - 1;
    const targets = this.targets();
    this.forgetPathsBut(targets);
    for (const t of targets) for (const spec of t.probeable) this.send(this.path(t.vtep, spec), full);
    this.noteTraffic();
    const now = Date.now();
    for (const t of targets) this.announce(t, this.aggregate(t, now));
  }

  private send(path: ProbePath, full: boolean): void {
    path.expire(process.hrtime.bigint());
    const probe = path.next(full, process.hrtime.bigint(), Date.now());
    const refused = this.ctx.datapath.sendProbe(path.spec.vni, path.spec.vtep, encodeProbe(probe));
    path.refused(probe.seq, refused);
    if (refused === undefined) this.stats.sent++;
  }

  private onProbe(p: ReceivedProbe): void {
    let probe: Probe;
    try {
      probe = decodeProbe(p.frame);
    } catch (err) {
      if (!isWireError(err)) throw err;
      this.stats.malformed++;
      return;
    }
    if (probe.kind === 'request') return this.answer(p, probe);
    this.stats.replies++;
    const path = this.paths.get(pathKey(p.vni, p.vtep));
    if (path === undefined || !path.replied(probe, process.hrtime.bigint(), Date.now())) {
      this.stats.stray++;
      return;
    }
    if (this.states.get(p.vtep) !== 'down') return;
    const t = this.targets().find((x) => x.vtep === p.vtep);
    if (t !== undefined) this.announce(t, this.aggregate(t, Date.now())); // down → up on the first good reply
  }

  /** Answers a request the way it came: over the data path to its VTEP, the same length. */
  private answer(p: ReceivedProbe, req: Probe): void {
    const now = Date.now();
    if (now - this.budgetSince >= 1000) {
      this.budgetSince = now;
      this.replyBudget = MAX_REPLIES_PER_S;
    }
    if (this.replyBudget <= 0) {
      this.stats.limited++;
      return;
    }
    this.replyBudget--;
    const reply = encodeProbe({ ...req, kind: 'reply', wallMs: now });
    if (this.ctx.datapath.sendProbe(p.vni, p.vtep, reply) === undefined) this.stats.answered++;
  }

  /** The remote VTEPs of the networks up here, with what this host shares with each. */
  private targets(): VtepTarget[] {
    const { store, config } = this.ctx;
    const byVtep = new Map<string, VtepTarget>();
    for (const [name, up] of this.ctx.up) {
      const net = store.networks().find((n) => n.name === name);
      if (net === undefined) continue;
      const mine = store.localEndpoints(name).length > 0;
      const owners = new Map(store.endpoints(name).filter((e) => e.owner !== config.name).map((e) => [e.vtep, e.owner]));
      for (const vtep of new Set(up.fdb.values())) {
        const t = byVtep.get(vtep) ?? { vtep, node: null, networks: [], mtu: net.mtu, probeable: [] };
        byVtep.set(vtep, t);
        t.networks.push(name);
        t.mtu = Math.min(t.mtu, net.mtu);
        const node = owners.get(vtep);
        if (node === undefined) continue; // a static peer: no agent to answer
        t.node = node;
        if (mine && this.memberAlive(node)) t.probeable.push({ vni: up.vni, network: name, maxFrame: net.mtu + 14, carrier: this.carrier(net.encryption?.carrier) });
      }
    }
    return [...byVtep.values()].sort((a, b) => a.vtep.localeCompare(b.vtep));
  }

  private carrier(esp: string | undefined): string {
    if (esp === 'ip') return 'ESP (IP protocol 50)';
    if (esp === 'udp') return `ESP-in-UDP (udp/${this.ctx.config.espPort})`;
    return `the data port (udp/${this.ctx.config.dataPort})`;
  }

  private path(vtep: string, spec: VtepTarget['probeable'][number]): ProbePath {
    const key = pathKey(spec.vni, vtep);
    let path = this.paths.get(key);
    if (path === undefined) {
      path = new ProbePath({ ...spec, vtep, downAfterMs: this.downAfterMs }, Date.now());
      this.paths.set(key, path);
    }
    return path;
  }

  private forgetPathsBut(targets: VtepTarget[]): void {
    const keep = new Set(targets.flatMap((t) => t.probeable.map((s) => pathKey(s.vni, t.vtep))));
    for (const key of this.paths.keys()) if (!keep.has(key)) this.paths.delete(key);
    const vteps = new Set(targets.map((t) => t.vtep));
    for (const vtep of this.seen.keys()) if (!vteps.has(vtep)) this.seen.delete(vtep);
    for (const vtep of this.states.keys()) if (!vteps.has(vtep)) this.states.delete(vtep);
  }

  /** Reads the per-VTEP counters; lastRx / lastTx: the last read (a round, or a listing) at which they had moved. */
  private noteTraffic(): Map<string, PeerCounters> {
    const now = Date.now();
    const counters = new Map<string, PeerCounters>();
    for (const c of this.ctx.datapath.peerCounters()) {
      const before = this.seen.get(c.vtep);
      const entry = { counters: c, rxMs: before?.rxMs, txMs: before?.txMs };
      if (c.rxPackets > (before?.counters.rxPackets ?? 0)) entry.rxMs = now;
      if (c.txPackets > (before?.counters.txPackets ?? 0)) entry.txMs = now;
      this.seen.set(c.vtep, entry);
      counters.set(c.vtep, c);
    }
    return counters;
  }

  /** The VTEP's state: down when any network's path is down, up when all are up. */
  private aggregate(t: VtepTarget, now: number): { state: PathState; reason?: string } {
    if (t.node === null) return { state: 'unknown', reason: 'static peer (peer add): no overlayd agent answers probes; lastRx shows its traffic' };
    if (this.timer === undefined) return { state: 'unknown', reason: 'probes are off here (--peer-probe-interval 0)' };
    if (t.probeable.length === 0) {
      if (!this.memberAlive(t.node)) return { state: 'unknown', reason: `member ${t.node} is not alive` };
      return { state: 'unknown', reason: `no endpoint of this host on ${t.networks.join(', ')}: the peer admits nothing from here to answer` };
    }
    const states = t.probeable.map((s) => this.paths.get(pathKey(s.vni, t.vtep))?.state(now) ?? { state: 'unknown' as const });
    const down = states.find((s) => s.state === 'down');
    if (down !== undefined) return { state: 'down', reason: `${down.reason}; gossip says member ${t.node} is alive` };
    return states.find((s) => s.state === 'unknown') ?? { state: 'up' };
  }

  private row(t: VtepTarget, c: PeerCounters | undefined, now: number): PeerRow {
    const paths = t.probeable.map((s) => this.paths.get(pathKey(s.vni, t.vtep))).filter((p) => p !== undefined);
    const { state, reason } = this.aggregate(t, now);
    const rtts = paths.map((p) => p.rttMs).filter((r) => r !== undefined);
    const windows = paths.map((p) => p.windowCounts());
    const probes = windows.reduce((a, w) => a + w.probes, 0);
    const offsets = paths.map((p) => p.clockOffsetMs).filter((o) => o !== undefined);
    const seen = this.seen.get(t.vtep);
    return {
      vtep: t.vtep,
      node: t.node,
      networks: t.networks,
      state,
      rttMs: rtts.length > 0 ? round3(rtts.reduce((a, b) => a + b, 0) / rtts.length) : null,
      lossPct: probes > 0 ? round3((100 * windows.reduce((a, w) => a + w.lost, 0)) / probes) : null,
      lastRx: iso(seen?.rxMs),
      lastTx: iso(seen?.txMs),
      txPackets: c?.txPackets ?? 0,
      rxPackets: c?.rxPackets ?? 0,
      txBytes: c?.txBytes ?? 0,
      rxBytes: c?.rxBytes ?? 0,
      mtu: t.mtu,
      ...(reason !== undefined && { reason }),
      ...(offsets.length > 0 && { clockOffsetMs: offsets[0] }),
    };
  }

  /** Logs and emits a `peer` event when the VTEP goes up or down (not for unknown). */
  private announce(t: VtepTarget, now: { state: PathState; reason?: string }): void {
    const before = this.states.get(t.vtep) ?? 'unknown';
    this.states.set(t.vtep, now.state);
    if (now.state === before || now.state === 'unknown') return;
    const who = t.node === null ? t.vtep : `${t.node} (${t.vtep})`;
    const summary = now.state === 'up' ? `peer ${who} up: probes answered over the data path` : `peer ${who} down: ${now.reason}`;
    const fields = { vtep: t.vtep, node: t.node, state: now.state, reason: now.reason };
    if (now.state === 'down') this.ctx.log.warn(fields, summary);
    else this.ctx.log.info(fields, summary);
    this.ctx.events.emit({ type: 'peer', summary, ...fields });
  }
}

const pathKey = (vni: number, vtep: string): string => `${vni}|${vtep}`;
const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const round3 = (n: number): number => Math.round(n * 1000) / 1000;

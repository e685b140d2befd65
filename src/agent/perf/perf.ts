/**
 * `overlayctl perf NETWORK --to NODE`: throughput and latency between this
 * host and another agent through the real data path. No new message between
 * agents: the request rides on the endpoint announcement the test needs anyway.
 *
 *   here:  namespace + endpoint (runtime "perf", container "perf-to:<session>:<node>") ─► gossip
 *   there: sees it ─► namespace + endpoint (runtime "perf", container "perf-reply:<session>") ─► gossip
 *   here:  sees the reply ─► rtt (UDP echo, idle) ─► TCP, N streams (here → there; there → here with `reverse`) ─► detach
 *   there: sees our endpoint gone (or its node dead, or MAX_SESSION_S) ─► detach
 *
 * Both endpoints are ordinary ones (FDB and neighbour entries on every host of
 * the network, `endpoint ls` shows them with runtime perf) in a namespace that
 * dies with its worker (namespace.ts). One test at a time per agent as the
 * one that asks; at most MAX_RESPONDERS answered at once.
 */
import { randomBytes } from 'node:crypto';
import type { EndpointEntry } from '../../cluster/entries.js';
import type { EndpointRecord } from '../../cluster/records.js';
import { OverlayError } from '../../cluster/errors.js';
import type { AgentContext } from '../context.js';
import type { EndpointAttachRequest, PerfReport, PerfRequest } from '../operations.js';
import { PerfNamespace } from './namespace.js';

/** What perf needs of the agent: its endpoint operations (so a test endpoint is plumbed, stored and announced as any other). */
export interface PerfHost {
  attach(req: EndpointAttachRequest): Promise<EndpointRecord>;
  detach(id: string): Promise<unknown>;
}

/** How long the other agent has to answer with its endpoint. */
const REPLY_TIMEOUT_MS = 15_000;
/** A first echo must come within this (tables and keys reaching both hosts). */
const REACH_TIMEOUT_MS = 5_000;
const RTT_PROBES = 200;
/** The longest a test endpoint lives, whatever happens (60 s of streams, set-up, probes). */
const MAX_SESSION_S = 120;
const MAX_RESPONDERS = 2;
const MAX_SECONDS = 60;
const MAX_STREAMS = 16;

const askTag = (session: string, to: string): string => `perf-to:${session}:${to}`;
const replyTag = (session: string): string => `perf-reply:${session}`;

interface Responder {
  session: string;
  ns?: PerfNamespace;
  endpointId?: string;
  timer: NodeJS.Timeout;
}

export class PerfTests {
  private running = false;
  private readonly responders = new Map<string, Responder>();

  constructor(
    private readonly ctx: AgentContext,
    private readonly host: PerfHost,
  ) {}

  /** Runs one test as the side that asks; resolves with the figures, or an OverlayError with a code. */
  async run(req: PerfRequest): Promise<PerfReport> {
    const { store, config } = this.ctx;
    const net = store.network(req.network);
    const seconds = bounded(req.seconds ?? 5, 1, MAX_SECONDS, 'seconds');
    const streams = bounded(req.streams ?? 1, 1, MAX_STREAMS, 'streams');
    this.checkPeer(req.network, req.to);
    if (this.running) throw new OverlayError('PERF_BUSY', 'a perf test is already running on this agent; try again when it ends');
    this.running = true;
    const started = Date.now();
    const session = randomBytes(6).toString('hex');
    let ns: PerfNamespace | undefined;
    let endpoint: EndpointRecord | undefined;
    try {
      ns = await PerfNamespace.open(MAX_SESSION_S);
      endpoint = await this.host.attach({ network: net.name, netns: ns.nsPath, runtime: 'perf', container: askTag(session, req.to) });
      const remote = await this.waitForReply(net.name, req.to, session);
      const family4 = !endpoint.ip.includes(':');
      const remoteIp = remote.ips.find((ip) => !ip.includes(':') === family4)!;
      const rtt = await ns.run<RttResult>('rtt', ['--to', remoteIp, '--count', String(RTT_PROBES), '--wait-ms', String(REACH_TIMEOUT_MS)], 30_000);
      if (!rtt.reachable) {
        throw new OverlayError('UNREACHABLE', `no echo from ${remoteIp} on ${req.to} within ${REACH_TIMEOUT_MS / 1000} s: the data path between ${config.advertiseAddr} and ${remote.vtep} drops (overlayctl stats on both hosts)`);
      }
      const setupMs = Date.now() - started;
      const direction = req.reverse === true ? 'receive' : 'send';
      const tput = await ns.run<{ bytes: number; seconds: number; gbps: number }>(direction, ['--to', remoteIp, '--seconds', String(seconds), '--streams', String(streams)], (seconds + 30) * 1000);
      const mss = net.mtu - (family4 ? 40 : 60) - 12; // TCP timestamps
      return {
        network: net.name,
        vni: net.vni,
        encrypted: net.encrypted,
        from: config.name,
        to: req.to,
        localIp: endpoint.ip,
        remoteIp,
        seconds: tput.seconds,
        streams,
        direction,
        bytes: tput.bytes,
        gbps: tput.gbps,
        segmentsPerSec: Math.round(tput.bytes / mss / tput.seconds),
        mss,
        probes: rtt.sent,
        rttP50Ms: rtt.rttP50Ms,
        rttP99Ms: rtt.rttP99Ms,
        rttMinMs: rtt.rttMinMs,
        rttMaxMs: rtt.rttMaxMs,
        lossPct: rtt.lossPct,
        setupMs,
      };
    } finally {
      if (endpoint) await this.host.detach(endpoint.id).catch((err: Error) => this.ctx.log.warn({ err: err.message }, 'perf: detaching the test endpoint failed'));
      ns?.close();
      this.running = false;
    }
  }

  /** Looks at the store after every change: starts a responder for a new request to this node, stops those whose request went away. */
  onStoreChange(): void {
    const { store, config } = this.ctx;
    const asking = new Map<string, EndpointEntry>();
    for (const e of store.endpoints()) {
      if (e.runtime !== 'perf' || e.owner === config.name || !store.visible(e)) continue;
      const m = /^perf-to:([0-9a-f]+):(.+)$/.exec(e.container ?? '');
      if (m && m[2] === config.name) asking.set(m[1], e);
    }
    for (const [session, r] of this.responders) if (!asking.has(session)) void this.stopResponder(r);
    for (const [session, e] of asking) if (!this.responders.has(session)) this.startResponder(session, e);
  }

  /**
   * At start: this host's test endpoints from before the agent (re)started are
   * orphans — their workers exited with the old agent — so they go, even while
   * the kernel has not yet removed their namespace and veth.
   */
  async forgetLeftovers(): Promise<void> {
    for (const ep of this.ctx.store.localEndpoints()) {
      if (ep.runtime !== 'perf') continue;
      await this.host.detach(ep.id);
      this.ctx.note(`perf test endpoint ${ep.id.slice(0, 12)} removed: left from before the agent started`);
    }
  }

  /** Stops every test endpoint of this agent (it is stopping). */
  async stop(): Promise<void> {
    await Promise.all([...this.responders.values()].map((r) => this.stopResponder(r)));
  }

  private startResponder(session: string, ask: EndpointEntry): void {
    if (this.responders.size >= MAX_RESPONDERS) {
      this.ctx.log.warn({ from: ask.owner, session }, `perf: already answering ${MAX_RESPONDERS} tests; this one is ignored`);
      return;
    }
    const r: Responder = { session, timer: setTimeout(() => void this.stopResponder(r), MAX_SESSION_S * 1000) };
    this.responders.set(session, r);
    void (async () => {
      r.ns = await PerfNamespace.open(MAX_SESSION_S);
      const ep = await this.host.attach({ network: ask.network, netns: r.ns.nsPath, runtime: 'perf', container: replyTag(session) });
      r.endpointId = ep.id;
      this.ctx.log.info({ from: ask.owner, network: ask.network, session, ip: ep.ip }, 'perf: answering a test');
      if (!this.responders.has(session)) await this.stopResponder(r); // the test ended meanwhile
    })().catch((err: Error) => {
      this.ctx.log.warn({ from: ask.owner, session, err: err.message }, 'perf: cannot answer a test');
      void this.stopResponder(r);
    });
  }

  private async stopResponder(r: Responder): Promise<void> {
    clearTimeout(r.timer);
    this.responders.delete(r.session);
    const id = r.endpointId;
    r.endpointId = undefined;
    if (id) await this.host.detach(id).catch((err: Error) => this.ctx.log.warn({ err: err.message }, 'perf: detaching a test endpoint failed'));
    r.ns?.close();
  }

  /** Refuses a `--to` that has no agent to answer. */
  private checkPeer(network: string, to: string): void {
    const { store, config } = this.ctx;
    if (to === config.name) throw new OverlayError('BAD_REQUEST', `--to names this node (${to}); give another member (overlayctl members)`);
    const state = store.memberState(to);
    if (state === undefined) {
      const peer = [...store.peers.values()].find((p) => p.network === network && (p.vtep === to || p.ip === to));
      if (peer) throw new OverlayError('NO_AGENT', `${to} is a static peer of ${network} (peer add): it has no overlayd agent to answer perf`);
      throw new OverlayError('NODE_NOT_FOUND', `no cluster member named ${to} (overlayctl members)`);
    }
    if (state === 'dead' || state === 'left') throw new OverlayError('NODE_DOWN', `member ${to} is ${state}`);
  }

  private async waitForReply(network: string, to: string, session: string): Promise<EndpointEntry> {
    const until = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const reply = this.ctx.store.endpoints(network).find((e) => e.owner === to && e.container === replyTag(session) && this.ctx.store.visible(e));
      if (reply) return reply;
      const state = this.ctx.store.memberState(to);
      if (state === 'dead' || state === 'left') throw new OverlayError('NODE_DOWN', `member ${to} went ${state} before it answered`);
      if (Date.now() > until) {
        throw new OverlayError('TIMEOUT', `${to} did not answer within ${REPLY_TIMEOUT_MS / 1000} s (its agent is busy with other tests, cannot reach us by gossip, or has no perf)`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

interface RttResult {
  reachable: boolean;
  sent: number;
  received: number;
  lossPct: number;
  rttP50Ms: number;
  rttP99Ms: number;
  rttMinMs: number;
  rttMaxMs: number;
}

function bounded(v: number, min: number, max: number, name: string): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new OverlayError('BAD_REQUEST', `"${name}" must be ${min}..${max}`);
  return v;
}


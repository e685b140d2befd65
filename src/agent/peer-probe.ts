/**
 * One probed path: this host → one remote VTEP on one network, and back
 * (docs/debugging.md "overlayctl peers"). It numbers the probes, remembers
 * the ones in flight, and keeps what the replies say: RTT, loss over a
 * sliding window, the peer's clock, and whether full-size frames pass. Its
 * state follows from that alone; peer-health.ts sends, receives and reports.
 */
import type { DropReason } from '../dataplane/datapath.js';
import type { Probe } from '../wire/index.js';

/** A path is down after this long without a reply to a small probe (the issue asks for ≤ 10 s), at the default interval. */
export const DOWN_AFTER_MS = 4000;
/** A probe without a reply after this long is lost. */
export const PROBE_TIMEOUT_MS = 2000;
/** Probes (small ones) the loss figure covers. */
export const LOSS_WINDOW = 30;
/** Frame size of a small probe. */
export const SMALL_PROBE_BYTES = 64;
/** Consecutive full-size probes lost, while small ones pass, that make a path down. */
export const FULL_LOST_DOWN = 2;

export type PathState = 'up' | 'down' | 'unknown';

interface InFlight {
  sentNs: bigint;
  sentWallMs: number;
  full: boolean;
}

/** Where a probed path leads and how it is carried. */
export interface PathSpec {
  vni: number;
  network: string;
  vtep: string;
  /** The largest frame of the network (MTU + 14): the size of a full-size probe. */
  maxFrame: number;
  /** How the data travels, for reasons: `udp/4789`, `ESP (ip protocol 50)`, `ESP-in-UDP`. */
  carrier: string;
  /** Silence after which it is down (default DOWN_AFTER_MS; longer for probes less often than every second). */
  downAfterMs?: number;
}

export class ProbePath {
  private nextSeq = 1;
  private readonly inFlight = new Map<number, InFlight>();
  /** Outcomes of the last LOSS_WINDOW small probes (true: answered). */
  private readonly window: boolean[] = [];
  private fullLost = 0;
  private readonly startedMs: number;
  /** The last time a small probe was answered (ms since 1970), if ever. */
  lastReplyMs?: number;
  lastSentMs?: number;
  rttMs?: number;
  clockOffsetMs?: number;
  /** Why the last probe could not be sent (this host's data path refused it). */
  sendRefused?: DropReason;
  malformedReplies = 0;

  constructor(
    readonly spec: PathSpec,
    nowMs: number,
  ) {
    this.startedMs = nowMs;
  }

  /** Numbers the next probe and remembers it as in flight; returns the probe to send. */
  next(full: boolean, nowNs: bigint, nowMs: number): Probe {
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) >>> 0 || 1;
    this.inFlight.set(seq, { sentNs: nowNs, sentWallMs: nowMs, full });
    this.lastSentMs = nowMs;
    return { kind: 'request', seq, sentNs: nowNs, wallMs: nowMs, size: full ? this.spec.maxFrame : SMALL_PROBE_BYTES };
  }

  /** The data path refused the probe `seq` here: it is lost, with that reason. */
  refused(seq: number, reason: DropReason | undefined): void {
    this.sendRefused = reason;
    if (reason === undefined) return;
    const p = this.inFlight.get(seq);
    this.inFlight.delete(seq);
    if (p !== undefined) this.settle(p.full, false);
  }

  /** A reply arrived: RTT, the peer's clock against ours, and the window. False when it answers nothing in flight. */
  replied(reply: Probe, nowNs: bigint, nowMs: number): boolean {
    const p = this.inFlight.get(reply.seq);
    if (p === undefined || p.sentNs !== reply.sentNs) return false;
    this.inFlight.delete(reply.seq);
    const rtt = Number(nowNs - p.sentNs) / 1e6;
    this.settle(p.full, true);
    if (p.full) return true;
    this.rttMs = rtt;
    this.lastReplyMs = nowMs;
    // The peer read its clock about half-way through the round trip.
    this.clockOffsetMs = Math.round(reply.wallMs - (p.sentWallMs + nowMs) / 2);
    return true;
  }

  /** Probes in flight past PROBE_TIMEOUT_MS are lost. */
  expire(nowNs: bigint): void {
    const limit = BigInt(PROBE_TIMEOUT_MS) * 1_000_000n;
    for (const [seq, p] of this.inFlight) {
      if (nowNs - p.sentNs < limit) continue;
      this.inFlight.delete(seq);
      this.settle(p.full, false);
    }
  }

  /** Lost small probes over the window, in percent; undefined before the first outcome. */
  lossPct(): number | undefined {
    if (this.window.length === 0) return undefined;
    return (100 * this.window.filter((ok) => !ok).length) / this.window.length;
  }

  /** Small probes in the window, and how many were lost. */
  windowCounts(): { probes: number; lost: number } {
    return { probes: this.window.length, lost: this.window.filter((ok) => !ok).length };
  }

  /** The state and its reason at `nowMs`. */
  state(nowMs: number): { state: PathState; reason?: string } {
    const { network, carrier, vtep, maxFrame } = this.spec;
    const silentMs = nowMs - (this.lastReplyMs ?? this.startedMs);
    if (silentMs >= (this.spec.downAfterMs ?? DOWN_AFTER_MS)) {
      const why = this.sendRefused !== undefined ? `; this host's data path refuses them: ${this.sendRefused}` : '';
      const heard = this.lastReplyMs === undefined ? 'no reply yet' : `no reply for ${Math.round(silentMs / 1000)} s`;
      return { state: 'down', reason: `network ${network}: ${heard} to probes to ${vtep} over ${carrier}${why}` };
    }
    if (this.lastReplyMs === undefined) return { state: 'unknown', reason: `network ${network}: probing` };
    if (this.fullLost >= FULL_LOST_DOWN) {
      return { state: 'down', reason: `network ${network}: frames of ${maxFrame} bytes lost, small ones pass (MTU black hole on the underlay?)` };
    }
    return { state: 'up' };
  }

  private settle(full: boolean, ok: boolean): void {
    if (full) {
      this.fullLost = ok ? 0 : this.fullLost + 1;
      return;
    }
    this.window.push(ok);
    if (this.window.length > LOSS_WINDOW) this.window.shift();
  }
}

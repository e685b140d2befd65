/**
 * `overlayctl capture`: frames of one network as a pcap stream, mirrored by
 * the data path through its punt queue (the fast path never waits for it:
 * a full queue is counted as `punt_overflow`).
 *
 * Inner mode writes the Ethernet frames as the containers see them; outer
 * mode the packets as they crossed the underlay (./capture-encoder.ts),
 * ESP as sealed on encrypted networks. Filters: `host` (inner source or
 * destination; for ESP the frame before sealing, or after opening) and
 * `vtep` (the remote VTEP). Several sessions may watch one network: the data
 * path mirrors what their union asks for, and each session filters again.
 */
import { CaptureFilter, type CaptureSpec } from '../dataplane/capture-spec.js';
import type { CapturedFrame } from '../dataplane/datapath.js';
import { OverlayError } from '../cluster/errors.js';
import { ipFamily } from '../wire/index.js';
import { CaptureEncoder } from './capture-encoder.js';
import type { AgentContext } from './context.js';

export interface CaptureOptions {
  /** Stop after this many frames. */
  count?: number;
  /** Stop after this many seconds (default 30, at most 3600). */
  durationS?: number;
  /** Write the packets as they crossed the underlay instead of the inner frames. */
  outer?: boolean;
  /** Only frames whose inner source or destination is this IP address. */
  host?: string;
  /** Only packets sent to or received from this VTEP. */
  vtep?: string;
}

export const CAPTURE_MAX_S = 3600;

/** One session: what it takes and where its records go. */
interface Session {
  /** Outer packets are ESP: their inner host is not visible here. */
  encrypted: boolean;
  filter: CaptureFilter;
  take(f: CapturedFrame): void;
}

/** The capture sessions of one agent: several may watch one network, sharing the data path's mirror. */
export class CaptureSessions {
  /** Capture sessions per VNI. */
  private readonly captures = new Map<number, Set<Session>>();

  constructor(private readonly ctx: AgentContext) {}

  /**
   * Starts mirroring a network's frames as pcap: `write` gets the header, then
   * one record per frame, then `end` is called when the count or duration is
   * reached. Returns a function that stops early (the client went away).
   */
  startCapture(network: string, opts: CaptureOptions, write: (chunk: Buffer) => void, end: () => void): () => void {
    const net = this.ctx.store.network(network);
    const up = this.ctx.up.get(net.name);
    if (!up) throw new OverlayError('BAD_REQUEST', `network ${network} has no endpoints on this host: nothing passes here to capture`);
    const durationS = opts.durationS ?? 30;
    if (!(durationS > 0 && durationS <= CAPTURE_MAX_S)) throw new OverlayError('BAD_REQUEST', `capture duration must be 1..${CAPTURE_MAX_S} s`);
    if (opts.count !== undefined && !(Number.isInteger(opts.count) && opts.count > 0)) throw new OverlayError('BAD_REQUEST', 'capture count must be a positive integer');
    const spec = captureSpec(opts);
    const sinks = this.captures.get(up.vni) ?? new Set<Session>();
    const specs = [...[...sinks].map((s) => s.filter.spec), spec];
    if (net.encrypted && specs.some((s) => s.outer && s.host !== undefined) && !specs.every((s) => s.host === spec.host)) {
      throw new OverlayError(
        'BAD_REQUEST',
        `another capture of ${network} is running with a different --host: on an encrypted network only the data path can match ESP on its inner host, for one host at a time; wait for it to end, or use the same --host`,
      );
    }
    const encoder = new CaptureEncoder(this.ctx.config.advertiseAddr, spec.outer);
    let seen = 0;
    let done = false;
    const session: Session = {
      encrypted: net.encrypted,
      filter: new CaptureFilter(spec),
      take: (f) => {
        if (done || !takes(session, f)) return;
        const record = encoder.record(f);
        if (!record) return;
        write(record);
        if (opts.count !== undefined && ++seen >= opts.count) stop();
      },
    };
    const stop = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sinks.delete(session);
      if (this.ctx.up.get(net.name) === up) this.mirror(up.vni, sinks);
      end();
    };
    const timer = setTimeout(stop, durationS * 1000);
    write(encoder.header());
    sinks.add(session);
    this.captures.set(up.vni, sinks);
    this.mirror(up.vni, sinks);
    return stop;
  }

  /** Sets the data path's mirror of `vni` to what its sessions ask for together (or off). */
  private mirror(vni: number, sinks: Set<Session>): void {
    if (sinks.size === 0) {
      this.captures.delete(vni);
      this.ctx.datapath.setCapture(vni, null);
      return;
    }
    const specs = [...sinks].map((s) => s.filter.spec);
    const same = <T>(values: T[]): T | undefined => (values.every((v) => v === values[0]) ? values[0] : undefined);
    const union: CaptureSpec = { inner: specs.some((s) => s.inner), outer: specs.some((s) => s.outer) };
    const host = same(specs.map((s) => s.host));
    const vtep = same(specs.map((s) => s.vtep));
    if (host !== undefined) union.host = host;
    if (vtep !== undefined) union.vtep = vtep;
    this.ctx.datapath.setCapture(vni, (f) => sinks.forEach((s) => s.take(f)), union);
  }
}

/** The data path's spec of a session's options; a clear error for a filter that is not an address. */
function captureSpec(opts: CaptureOptions): CaptureSpec {
  const spec: CaptureSpec = { inner: opts.outer !== true, outer: opts.outer === true };
  for (const key of ['host', 'vtep'] as const) {
    const value = opts[key];
    if (value === undefined) continue;
    if (ipFamily(value) === 0 || value.toLowerCase().startsWith('::ffff:')) throw new OverlayError('BAD_REQUEST', `capture --${key}: not an IPv4 or IPv6 address: "${value}"`);
    spec[key] = value;
  }
  return spec;
}

/**
 * Whether a mirrored frame is this session's: its mode, its VTEP, its inner
 * host. ESP cannot be matched on its host here; the mirror applied the
 * session's host filter to it (startCapture refuses sessions of another host beside it).
 */
function takes(s: Session, f: CapturedFrame): boolean {
  if ((f.outer !== undefined) !== s.filter.spec.outer) return false;
  if (!s.filter.vtepMatches(f.vtep)) return false;
  if (f.outer === undefined) return s.filter.hostMatches(f.frame);
  return s.encrypted || s.filter.hostMatches(f.frame.subarray(8));
}

/**
 * `overlayctl capture`: frames of one network as a pcap stream, mirrored by
 * the data path through its punt queue (the fast path never waits for it:
 * a full queue is counted as `punt_overflow`).
 *
 * Inner mode writes the Ethernet frames as the containers see them. Outer
 * mode writes what crossed the underlay, as raw IP: the VXLAN datagram
 * between the two VTEPs, its outer headers rebuilt from the addresses the
 * data path reported (the source port is the data port, not the hashed one).
 */
import {
  encodeIPv4,
  encodeIPv6,
  encodeUdp,
  encodeVxlan,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  parseIp,
  PcapWriter,
} from '../wire/index.js';
import type { CapturedFrame } from '../dataplane/datapath.js';
import { OverlayError } from '../cluster/errors.js';
import type { AgentContext } from './context.js';

export interface CaptureOptions {
  /** Stop after this many frames. */
  count?: number;
  /** Stop after this many seconds (default 30, at most 3600). */
  durationS?: number;
  /** Write the VXLAN datagrams between VTEPs instead of the inner frames. */
  outer?: boolean;
}

export const CAPTURE_MAX_S = 3600;

/** Turns captured frames into pcap records for one capture session. */
export class CaptureEncoder {
  private readonly writer: PcapWriter;

  constructor(
    private readonly vni: number,
    private readonly localVtep: string,
    private readonly dataPort: number,
    private readonly outer: boolean,
  ) {
    this.writer = new PcapWriter(outer ? LINKTYPE_RAW : LINKTYPE_ETHERNET);
  }

  header(): Buffer {
    return this.writer.header();
  }

  /** The record for `f`, or undefined when outer mode has no VTEP to show (a frame that was not sent). */
  record(f: CapturedFrame): Buffer | undefined {
    if (!this.outer) return this.writer.record(f.frame);
    if (f.vtep === undefined) return undefined;
    const [src, dst] = f.direction === 'egress' ? [this.localVtep, f.vtep] : [f.vtep, this.localVtep];
    const s = parseIp(src);
    const d = parseIp(dst);
    const udp = encodeUdp(s, d, { srcPort: this.dataPort, dstPort: this.dataPort }, encodeVxlan(this.vni, f.frame));
    const ip = s.length === 4 ? encodeIPv4({ protocol: 17, ttl: 64, src: s, dst: d }, udp) : encodeIPv6({ nextHeader: 17, hopLimit: 64, src: s, dst: d }, udp);
    return this.writer.record(ip);
  }
}

/** The capture sessions of one agent: several may watch one network, sharing the data path's mirror. */
export class CaptureSessions {
  /** Capture sessions per VNI. */
  private readonly captures = new Map<number, Set<(f: CapturedFrame) => void>>();

  constructor(private readonly ctx: AgentContext) {}

  /**
   * Starts mirroring a network's frames as pcap: `write` gets the header, then
   * one record per frame, then `end` is called when the count or duration is
   * reached. Returns a function that stops early (the client went away).
   */
  startCapture(network: string, opts: CaptureOptions, write: (chunk: Buffer) => void, end: () => void): () => void {
    const { store, config } = this.ctx;
    const net = store.network(network);
    const up = this.ctx.up.get(net.name);
    if (!up) throw new OverlayError('BAD_REQUEST', `network ${network} has no endpoints on this host: nothing passes here to capture`);
    if (opts.outer && net.encrypted) {
      // --outer rebuilds VXLAN around the frames: for an encrypted network that would show plaintext that never travelled.
      throw new OverlayError(
        'BAD_REQUEST',
        `network ${network} is encrypted: its outer packets are ESP; capture them on the underlay (tcpdump) and decrypt with the SAs of overlayctl keys ${network} --show-secrets`,
      );
    }
    const durationS = opts.durationS ?? 30;
    if (!(durationS > 0 && durationS <= CAPTURE_MAX_S)) throw new OverlayError('BAD_REQUEST', `capture duration must be 1..${CAPTURE_MAX_S} s`);
    if (opts.count !== undefined && !(Number.isInteger(opts.count) && opts.count > 0)) throw new OverlayError('BAD_REQUEST', 'capture count must be a positive integer');
    const encoder = new CaptureEncoder(up.vni, config.advertiseAddr, config.dataPort, opts.outer === true);
    let seen = 0;
    let done = false;
    const sinks = this.captures.get(up.vni) ?? new Set();
    const stop = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sinks.delete(sink);
      if (sinks.size === 0) {
        this.captures.delete(up.vni);
        if (this.ctx.up.get(net.name) === up) this.ctx.datapath.setCapture(up.vni, null);
      }
      end();
    };
    const sink = (f: CapturedFrame): void => {
      const record = encoder.record(f);
      if (done || !record) return;
      write(record);
      if (opts.count !== undefined && ++seen >= opts.count) stop();
    };
    const timer = setTimeout(stop, durationS * 1000);
    write(encoder.header());
    sinks.add(sink);
    if (!this.captures.has(up.vni)) {
      this.captures.set(up.vni, sinks);
      this.ctx.datapath.setCapture(up.vni, (f) => sinks.forEach((s) => s(f)));
    }
    return stop;
  }
}

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

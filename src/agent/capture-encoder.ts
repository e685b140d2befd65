/**
 * pcap records of a capture session (`overlayctl capture`): inner mode writes
 * the Ethernet frames as the containers see them; outer mode the packets as
 * they crossed the underlay, as raw IP (LINKTYPE_RAW): the data path's copy
 * of the UDP payload (VXLAN or ESP-in-UDP) or of the ESP packet (IP protocol
 * 50), behind an IPv4/IPv6 header between this host's VTEP address and the
 * remote VTEP and, for UDP, the real ports (the hashed source port of the
 * flow, the ESP port).
 */
import { encodeIPv4, encodeIPv6, encodeUdp, IP_PROTOCOL, LINKTYPE_ETHERNET, LINKTYPE_RAW, parseIp, PcapWriter } from '../wire/index.js';
import type { CapturedFrame, OuterInfo } from '../dataplane/datapath.js';

/** Turns captured frames into pcap records for one capture session. */
export class CaptureEncoder {
  private readonly writer: PcapWriter;
  private readonly local: Buffer;

  /** @param localVtep this host's VTEP address (the outer address of what it sends and receives) */
  constructor(
    localVtep: string,
    private readonly outer: boolean,
  ) {
    this.writer = new PcapWriter(outer ? LINKTYPE_RAW : LINKTYPE_ETHERNET);
    this.local = parseIp(localVtep);
  }

  header(): Buffer {
    return this.writer.header();
  }

  /** The record for `f`, or undefined when it is not of this session's mode (the mirror is shared) or has no VTEP to show. */
  record(f: CapturedFrame): Buffer | undefined {
    if (!this.outer) return f.outer === undefined ? this.writer.record(f.frame) : undefined;
    if (f.outer === undefined || f.vtep === undefined) return undefined;
    const remote = parseIp(f.vtep);
    if (remote.length !== this.local.length) return undefined;
    const [src, dst] = f.direction === 'egress' ? [this.local, remote] : [remote, this.local];
    return this.writer.record(outerPacket(src, dst, f.direction, f.outer, f.frame));
  }
}

/** The IP packet carrying `data` as it went between `src` and `dst`. */
function outerPacket(src: Buffer, dst: Buffer, direction: CapturedFrame['direction'], wire: OuterInfo, data: Buffer): Buffer {
  const [srcPort, dstPort] = direction === 'egress' ? [wire.localPort, wire.remotePort] : [wire.remotePort, wire.localPort];
  const protocol = wire.proto === 'esp' ? IP_PROTOCOL.ESP : IP_PROTOCOL.UDP;
  const payload = wire.proto === 'esp' ? data : encodeUdp(src, dst, { srcPort, dstPort }, data);
  return src.length === 4
    ? encodeIPv4({ protocol, ttl: 64, src, dst }, payload)
    : encodeIPv6({ nextHeader: protocol, hopLimit: 64, src, dst }, payload);
}

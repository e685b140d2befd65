/**
 * Drop events: turns the data path's sampled drops (DropSample, both paths)
 * into `drop` events of the event log — the addresses of the dropped frame,
 * the network, the outer VTEP, a one-line summary and the count of drops of
 * the same reason that were suppressed since the previous event.
 *
 *   {time, type: "drop", network?, vni?, reason, direction, src?, dst?, vtep?, spi?, summary, suppressed}
 *
 * `src`/`dst`: the inner IP addresses when the frame is IPv4, IPv6 or ARP,
 * else its MAC addresses; absent for an ESP packet (only its SPI is read) or
 * a datagram too short to hold a frame. `network`/`vni`: absent when the drop
 * names none (a garbage datagram); `vni` without `network` when the VNI is
 * not a network here (`unknown_vni`).
 */
import type { DropSample } from '../dataplane/datapath.js';
import { formatIp, formatMac } from '../wire/index.js';
import type { EventInput } from './events.js';

const ETH_HLEN = 14;
const VXLAN_HLEN = 8;
const TPIDS = new Set([0x8100, 0x88a8]);

/** What the inner frame says of itself: a protocol word and its two ends. */
interface FrameEnds {
  proto: string;
  src: string;
  dst: string;
}

/** The ends of an Ethernet frame's first layer it can read (never throws). */
export function frameEnds(frame: Buffer): FrameEnds | undefined {
  if (frame.length < ETH_HLEN) return undefined;
  let at = 12;
  while (at + 4 <= frame.length && TPIDS.has(frame.readUInt16BE(at)) && at < 20) at += 4;
  if (at + 2 > frame.length) return undefined;
  const type = frame.readUInt16BE(at);
  const l3 = at + 2;
  const slice = (from: number, len: number): Buffer | undefined => (l3 + from + len <= frame.length ? frame.subarray(l3 + from, l3 + from + len) : undefined);
  const ip = (proto: string, from: number, len: number, gap: number): FrameEnds | undefined => {
    const s = slice(from, len);
    const d = slice(from + gap, len);
    return s && d ? { proto, src: formatIp(s), dst: formatIp(d) } : undefined;
  };
  const byIp = type === 0x0800 ? ip('IPv4', 12, 4, 4) : type === 0x86dd ? ip('IPv6', 8, 16, 16) : type === 0x0806 ? ip('ARP', 14, 4, 10) : undefined;
  return byIp ?? { proto: `ethertype 0x${type.toString(16).padStart(4, '0')}`, src: formatMac(frame, 6), dst: formatMac(frame, 0) };
}

/** The event of one sampled drop; `networkOf` names the network of a VNI (undefined: not one here). */
export function dropEvent(sample: DropSample, networkOf: (vni: number) => string | undefined): EventInput {
  const { reason, direction, vtep, suppressed } = sample;
  let vni = sample.vni;
  let ends: FrameEnds | undefined;
  let spi: string | undefined;
  if (sample.kind === 'frame') ends = frameEnds(sample.head);
  else if (sample.kind === 'vxlan') {
    if (vni === undefined && sample.head.length >= VXLAN_HLEN && (sample.head[0] & 0x08) !== 0) vni = sample.head.readUIntBE(4, 3);
    ends = frameEnds(sample.head.subarray(VXLAN_HLEN));
  } else if (sample.head.length >= 4) spi = `0x${sample.head.readUInt32BE(0).toString(16).padStart(8, '0')}`;
  const network = vni === undefined ? undefined : networkOf(vni);
  const event: EventInput = { type: 'drop', reason, direction, summary: '', suppressed };
  if (network !== undefined) event.network = network;
  if (vni !== undefined) event.vni = vni;
  if (ends) Object.assign(event, { src: ends.src, dst: ends.dst });
  if (vtep !== undefined) event.vtep = vtep;
  if (spi !== undefined) event.spi = spi;
  event.summary = summary(sample, ends, network, vni, spi);
  return event;
}

function summary(s: DropSample, ends: FrameEnds | undefined, network: string | undefined, vni: number | undefined, spi: string | undefined): string {
  const what = ends ? `${ends.proto} ${ends.src} → ${ends.dst}` : spi ? `ESP spi ${spi}` : `${s.kind === 'vxlan' ? 'datagram' : 'frame'} of ${s.len} bytes`;
  const where = network !== undefined ? ` on ${network}` : vni !== undefined ? ` for vni ${vni}` : '';
  const from = s.vtep !== undefined ? ` from ${s.vtep}` : '';
  const more = s.suppressed > 0 ? ` (+${s.suppressed} suppressed)` : '';
  return `${s.reason}: ${s.direction} ${what}${where}${from}${more}`;
}

/**
 * `overlayctl trace` (docs/debugging.md): a described packet walked through
 * this host's data path — the same stage lists real frames take, native or
 * js, through the synchronous processEgress / processIngress / traceEsp with
 * the trace flag, so nothing is sent, counted or sealed — and reported stage
 * by stage, like `ovs-appctl ofproto/trace`.
 *
 * Egress: the frame the local endpoint with address `src` would send to
 * `dst` (trace-frame.ts); to a group or broadcast address on a multicast
 * network, the replication list with the node behind each VTEP
 * (trace-groups.ts). Ingress (`vtep`): a VXLAN datagram from that VTEP
 * carrying the frame `src` would send to the local endpoint `dst`; on an
 * encrypted network an ESP packet under the inbound SA from that VTEP.
 */
import { OverlayError } from '../cluster/errors.js';
import type { EndpointEntry, NetworkEntry } from '../cluster/entries.js';
import { TRACE_STAGES, type DropReason, type FrameTrace, type TraceStage } from '../dataplane/datapath.js';
import { encodeVxlan, endpointMac, formatIp, formatMac, ipFamily, parseIp } from '../wire/index.js';
import type { AgentContext, UpNetwork } from './context.js';
import { buildTraceFrame, sizeRange, TRACE_PROTOCOLS, type TraceFrame, type TraceProtocol } from './trace-frame.js';
import { groupDestinationMac, groupLookupDetail, replicationList, type ReplicationCopy } from './trace-groups.js';

/** What to trace (POST /v1/trace). */
export interface TraceRequest {
  network: string;
  src: string;
  dst: string;
  /** Default icmp; arp: the ARP request / neighbour solicitation for `dst`. */
  proto?: TraceProtocol;
  /** tcp/udp only; default 40000 and 80 (tcp) / 53 (udp). */
  sport?: number;
  dport?: number;
  /** Length of the IP packet; default 84 (IPv4) / 104 (IPv6), ping's. */
  size?: number;
  df?: boolean;
  /** Egress: the destination MAC the sender believes in (a stale neighbour entry), instead of this host's neighbour table's. */
  dstMac?: string;
  /** Walk a packet arriving from `vtep` instead. */
  ingress?: boolean;
  vtep?: string;
}

export type TraceVerdict = 'forward' | 'deliver' | 'reply' | 'drop';

/** `overlayctl trace --json`. */
export interface TraceReport {
  network: string;
  vni: number;
  direction: 'egress' | 'ingress';
  datapath: 'native' | 'js';
  /** What was walked through, in one line. */
  frame: string;
  verdict: TraceVerdict;
  reason?: DropReason;
  stages: { stage: TraceStage; result: 'pass' | DropReason; detail: string }[];
  outer?: { src: string; dst: string; sport?: number; dport?: number; vni: number; esp?: { spi: string; seq: number } };
  /** Egress of a broadcast or group frame on a multicast network: every copy's VTEP and node (`outer` shows the first). */
  replication?: ReplicationCopy[];
  note?: string;
}

const EGRESS = TRACE_STAGES.slice(0, TRACE_STAGES.indexOf('open'));
const INGRESS = TRACE_STAGES.slice(TRACE_STAGES.indexOf('open'));
const DEFAULT_DPORT: Record<TraceProtocol, number> = { icmp: 0, tcp: 80, udp: 53, arp: 0 };
const hex = (spi: number): string => `0x${spi.toString(16).padStart(8, '0')}`;
const bad = (message: string): OverlayError => new OverlayError('BAD_REQUEST', message);

/** Runs the trace `req` on this host's data path. Throws OverlayError (BAD_REQUEST, NETWORK_NOT_FOUND) for bad input. */
export function runTrace(ctx: AgentContext, req: TraceRequest): TraceReport {
  const net = ctx.store.network(req.network);
  const up = ctx.up.get(net.name);
  if (up === undefined) throw bad(`network ${net.name} has no endpoints on this host, so this host's data path does not carry it`);
  const family = address(req.src, 'src');
  if (address(req.dst, 'dst') !== family) throw bad(`--src ${req.src} and --dst ${req.dst} are not of one IP family`);
  const proto = req.proto ?? 'icmp';
  if (!TRACE_PROTOCOLS.includes(proto)) throw bad(`--proto must be one of ${TRACE_PROTOCOLS.join(', ')}`);
  if (proto !== 'tcp' && proto !== 'udp' && (req.sport !== undefined || req.dport !== undefined)) throw bad('--sport and --dport apply to tcp and udp');
  if (proto === 'arp' && (req.size !== undefined || req.df === true)) throw bad('--size and --df do not apply to arp');
  const sport = port(req.sport ?? 40000, 'sport');
  const dport = port(req.dport ?? DEFAULT_DPORT[proto], 'dport');
  const { min, max } = sizeRange(family, proto);
  const size = req.size ?? (family === 4 ? 84 : 104);
  if (!Number.isInteger(size) || size < min || size > max) throw bad(`--size must be ${min}–${max} bytes of IP for ${proto} over IPv${family}`);
  if (req.dstMac !== undefined) mac(req.dstMac);
  const local = (ip: string) => ctx.store.localEndpoints(net.name).find((e) => e.ips.includes(ip));
  const spec = { src: req.src, dst: req.dst, proto, sport, dport, size, df: req.df === true };

  if (req.ingress !== true) {
    if (req.vtep !== undefined) throw bad('--vtep goes with --ingress');
    const sender = local(req.src);
    if (sender === undefined) throw bad(`--src ${req.src} is not an endpoint of network ${net.name} on this host`);
    const dstMac = req.dstMac ?? groupDestinationMac(net, req.dst) ?? up.neigh.get(req.dst);
    const built = buildTraceFrame({ ...spec, srcMac: sender.mac, dstMac });
    const note = local(req.dst) && `${req.dst} is an endpoint on this host: the bridge delivers it, the frame never reaches the data path`;
    return egress(ctx, net, up, built, dstMac, note);
  }
  if (req.vtep === undefined) throw bad('--ingress needs --vtep ADDR: the VTEP the packet arrives from');
  address(req.vtep, 'vtep');
  if (req.dstMac !== undefined) throw bad('--dst-mac goes with egress traces');
  const receiver = local(req.dst);
  if (receiver === undefined) throw bad(`--dst ${req.dst} is not an endpoint of network ${net.name} on this host`);
  const srcMac = up.neigh.get(req.src) ?? (family === 4 ? endpointMac(req.src) : undefined);
  if (srcMac === undefined) throw bad(`--src ${req.src} is not in the neighbour table of ${net.name}: its MAC is unknown`);
  return ingress(ctx, net, up, buildTraceFrame({ ...spec, srcMac, dstMac: receiver.mac }), req.vtep, receiver);
}

function egress(ctx: AgentContext, net: NetworkEntry, up: UpNetwork, built: TraceFrame, dstMac: string | undefined, note: string | undefined): TraceReport {
  const r = ctx.datapath.processEgress(up.vni, built.frame, true);
  const t = r.trace!;
  const verdict: TraceVerdict = t.drop !== undefined ? 'drop' : t.stage === 'proxy' ? 'reply' : 'forward';
  const shown = dstMac ?? formatMac(built.frame, 0);
  const ipLength = built.frame.length - 14;
  const copies = t.vteps && replicationList(ctx.store, net, t.vteps);
  const detail = (stage: TraceStage): string => {
    switch (stage) {
      case 'parse':
        return t.drop === 'no_network' ? `vni ${up.vni} is not in the data path` : `Ethernet ${formatMac(built.frame, 6)} → ${formatMac(built.frame, 0)}, ${built.frame.length} bytes`;
      case 'proxy':
        if (t.stage !== 'proxy') return 'not ARP or neighbour discovery: not answered here';
        return t.drop === undefined ? `answered from the neighbour table: a ${t.replyLen}-byte reply back to the sender` : `not answered (${t.drop}): the address is not in the neighbour table; nothing is flooded`;
      case 'lookup':
        if (copies) return groupLookupDetail(shown, copies);
        if (t.drop === 'no_fdb') return `FDB of vni ${up.vni} has no ${shown}: dropped, never flooded`;
        if (t.drop === 'no_sa') return `FDB ${shown} → VTEP ${t.vtep}, but no outbound SA to it yet (keys not known): nothing leaves in plaintext`;
        if (t.stage === 'lookup') return `${shown} is a group address: dropped, never flooded`;
        return `FDB ${shown} → VTEP ${t.vtep}`;
      case 'size':
        if (t.drop !== undefined) return `too big: ${ipLength} > ${net.mtu}${built.summary.includes(', DF') ? ', DF' : ''}${t.replyLen > 0 ? `; ICMP too-big (MTU ${net.mtu}) back to the sender` : ''}`;
        return t.pieces > 1 ? `${ipLength} > ${net.mtu}: cut into ${t.pieces} IPv4 fragments` : `fits ${net.mtu}`;
      case 'encapsulate':
        return `VXLAN vni ${up.vni}, ${t.payloadLen}-byte payload${t.pieces > 1 ? ' (first fragment)' : ''} to ${copies ? 'each VTEP, first ' : ''}${t.vtep}:${ctx.config.dataPort}`;
      default:
        return `ESP spi ${hex(t.sa!.spi)}, next sequence number ${t.sa!.seq} (not sealed: a trace takes no sequence number)`;
    }
  };
  const report = base(ctx, net, up, 'egress', built, verdict, t, EGRESS, detail);
  if (verdict === 'forward') {
    // Plain VXLAN leaves from the pool socket the flow hash picks; ESP from the carrier's (ports only for ESP-in-UDP).
    const sport = t.sa === undefined ? ctx.datapath.sourcePort?.(t.flowHash!) : undefined;
    report.outer = { src: ctx.config.advertiseAddr, dst: t.vtep!, ...(sport !== undefined && { sport }), ...ports(ctx, net), vni: up.vni };
    if (t.sa) report.outer.esp = { spi: hex(t.sa.spi), seq: t.sa.seq };
  }
  if (copies && copies.length > 0) report.replication = copies;
  if (note) report.note = note;
  return report;
}

function ingress(ctx: AgentContext, net: NetworkEntry, up: UpNetwork, built: TraceFrame, vtep: string, receiver: EndpointEntry): TraceReport {
  const payload = encodeVxlan(up.vni, built.frame);
  let spi: number | undefined;
  if (net.encrypted) {
    // The inbound SA from that VTEP (under the sending key if several); SPI 0 is never one, so none gives esp_bad_spi.
    const held = ctx.datapath.securityAssociations(up.vni).filter((s) => s.direction === 'in' && s.peer === formatIp(parseIp(vtep)));
    spi = (held.find((s) => s.keyTag === net.encryption?.sendTag) ?? held[0])?.spi ?? 0;
  }
  const r = spi === undefined ? ctx.datapath.processIngress(vtep, payload, true) : ctx.datapath.traceEsp(vtep, spi, payload);
  const t = r.trace!;
  const detail = (stage: TraceStage): string => {
    switch (stage) {
      case 'open':
        if (spi === undefined) return 'plain VXLAN on the data port: nothing to open';
        if (t.drop === 'esp_bad_spi') return `no inbound SA from ${vtep} (keys not known yet, or not a peer of this network)`;
        return `inbound SA spi ${hex(spi)} from ${vtep}, window top ${t.sa?.seq} (not opened: a trace moves no window)`;
      case 'decapsulate':
        return t.drop && t.stage === 'decapsulate' ? `not a VXLAN datagram (${t.drop})` : `VXLAN vni ${up.vni}`;
      default:
        return admitDetail(t.drop, up.vni, vtep, formatMac(built.frame, 6), receiver);
    }
  };
  const report = base(ctx, net, up, 'ingress', built, t.drop === undefined ? 'deliver' : 'drop', t, INGRESS, detail);
  report.outer = { src: vtep, dst: ctx.config.advertiseAddr, ...ports(ctx, net), vni: up.vni };
  if (spi !== undefined && t.sa) report.outer.esp = { spi: hex(spi), seq: t.sa.seq + 1 };
  return report;
}

function admitDetail(drop: DropReason | undefined, vni: number, vtep: string, srcMac: string, receiver: EndpointEntry): string {
  switch (drop) {
    case undefined:
      return `${vtep} is a VTEP of vni ${vni} and ${srcMac} is behind it: to the TAP, for ${receiver.ips[0]} (${receiver.mac})`;
    case 'unknown_vtep':
      return `${vtep} is not a VTEP of vni ${vni}: no endpoint of the network is behind it`;
    case 'spoofed_src':
      return `inner source ${srcMac} is not behind ${vtep} in the FDB: a host speaks only for its own endpoints`;
    case 'plaintext_on_encrypted':
      return `plain VXLAN for an encrypted network: refused`;
    default:
      return `refused (${drop})`;
  }
}

/** The report's common part: the stages up to the one that decided, each with its result and detail. */
function base(
  ctx: AgentContext,
  net: NetworkEntry,
  up: UpNetwork,
  direction: 'egress' | 'ingress',
  built: TraceFrame,
  verdict: TraceVerdict,
  t: FrameTrace,
  order: readonly TraceStage[],
  detail: (stage: TraceStage) => string,
): TraceReport {
  const ran = order.slice(0, order.indexOf(t.stage) + 1);
  const stages = ran.map((stage) => ({ stage, result: stage === t.stage && t.drop !== undefined ? t.drop : ('pass' as const), detail: detail(stage) }));
  const report: TraceReport = { network: net.name, vni: up.vni, direction, datapath: ctx.datapath.kind, frame: built.summary, verdict, stages };
  if (t.drop !== undefined) report.reason = t.drop;
  return report;
}

/** The outer destination port: the data port for VXLAN, the ESP port for ESP-in-UDP, none for ESP as IP protocol 50. */
function ports(ctx: AgentContext, net: NetworkEntry): { dport?: number } {
  if (!net.encrypted) return { dport: ctx.config.dataPort };
  return net.encryption?.carrier === 'udp' ? { dport: ctx.datapath.espPort } : {};
}

function address(ip: string, what: string): 4 | 6 {
  const family = typeof ip === 'string' ? ipFamily(ip) : 0;
  if (family === 0) throw bad(`--${what} ${ip} is not an IP address`);
  return family;
}

function port(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw bad(`--${what} must be a port number, 0–65535`);
  return n;
}

function mac(text: string): void {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(text)) throw bad(`--dst-mac ${text} is not a MAC address`);
}

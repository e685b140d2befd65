/**
 * The TypeScript path's SA store: the SAs an {@link EspPlanner} hands out,
 * kept in maps for the reference processor.
 *
 *     inbound   (peer, SPI)  → SA + replay window   (processEsp looks up here)
 *     outbound  (VNI, peer)  → SA + last sequence number sent
 *
 * The native path holds the same SAs in C tables (native/); both are fed by
 * the same planner, so they hold the same SAs at the same moments.
 */
import { DEFAULT_REPLAY_WINDOW, maxSequence, ReplayWindow } from '../crypto/index.js';
import type { SaInfo } from './datapath.js';
import type { PlannedSa, SaSink } from './esp-plan.js';

/** An inbound SA and its anti-replay window. */
export interface InboundSa {
  planned: PlannedSa;
  window: ReplayWindow;
}

/** An outbound SA and its counter. */
export interface OutboundSa {
  planned: PlannedSa;
  /** Last sequence number used; the next packet carries `lastSeq + 1`. */
  lastSeq: number;
  /** Largest sequence number the SA may use (2^53−1 with ESN, 2^32−1 without). */
  maxSeq: number;
}

const inboundKey = (peer: string, spi: number): string => `${peer}/${spi}`;
const outboundKey = (vni: number, peer: string): string => `${vni}/${peer}`;

/** Holds the SAs of every encrypted network of a TypeScript data path. */
export class EspSaStore implements SaSink {
  private readonly inbound = new Map<string, InboundSa>();
  private readonly outbound = new Map<string, OutboundSa>();

  /** @param windowSize replay window of each inbound SA (default 4096) */
  constructor(private readonly windowSize: number = DEFAULT_REPLAY_WINDOW) {}

  inboundAdd(e: PlannedSa, windowTop = 0): void {
    const window = new ReplayWindow(this.windowSize);
    window.seed(windowTop);
    this.inbound.set(inboundKey(e.peer, e.spi), { planned: e, window });
  }

  inboundDelete(e: PlannedSa): void {
    const key = inboundKey(e.peer, e.spi);
    // Two SAs could in principle share an SPI: only remove the one this entry names.
    const held = this.inbound.get(key)?.planned;
    if (held?.keyTag === e.keyTag && held.vni === e.vni) this.inbound.delete(key);
  }

  outboundSet(e: PlannedSa, lastUsed: number): void {
    this.outbound.set(outboundKey(e.vni, e.peer), { planned: e, lastSeq: lastUsed, maxSeq: maxSequence(e.sa) });
  }

  outboundDelete(vni: number, peer: string): void {
    this.outbound.delete(outboundKey(vni, peer));
  }

  /** The inbound SA for packets from `peer` (canonical text) with `spi`. */
  findInbound(peer: string, spi: number): InboundSa | undefined {
    return this.inbound.get(inboundKey(peer, spi));
  }

  /** The outbound SA toward `peer` (canonical text) on `vni`, if it can still send. */
  findOutbound(vni: number, peer: string): OutboundSa | undefined {
    const out = this.outbound.get(outboundKey(vni, peer));
    return out !== undefined && out.lastSeq < out.maxSeq ? out : undefined;
  }

  /** Every SA held, optionally of one network: outbound first, then inbound. */
  list(vni?: number): SaInfo[] {
    const infos: SaInfo[] = [];
    const info = (p: PlannedSa, direction: SaInfo['direction'], seq: number): SaInfo => ({
      vni: p.vni,
      peer: p.peer,
      keyTag: p.keyTag,
      spi: p.spi,
      direction,
      seq,
    });
    for (const o of this.outbound.values()) if (vni === undefined || o.planned.vni === vni) infos.push(info(o.planned, 'out', o.lastSeq));
    for (const i of this.inbound.values()) if (vni === undefined || i.planned.vni === vni) infos.push(info(i.planned, 'in', i.window.top));
    return infos;
  }
}

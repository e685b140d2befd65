/**
 * Drop events of the TypeScript path, as native/io/drop_events.h does them
 * for the native one: a token bucket per drop reason (GCRA: the time the
 * next token is due; DROP_EVENT_RATE per second, DROP_EVENT_BURST at once),
 * the drops that found no token counted and carried by the next sample as
 * `suppressed`, and each network's drops counted by reason.
 */
import { DROP_EVENT_BURST, DROP_EVENT_RATE, DROP_REASONS, type DropReason, type DropSample } from './datapath.js';

const HEAD = 128;
const ESP_HEAD = 8;

/** The token buckets: one per reason. `now` in milliseconds (monotonic). */
export class DropSampler {
  private readonly due = new Map<DropReason, number>();
  private readonly missed = new Map<DropReason, number>();
  private readonly intervalMs: number;
  private readonly toleranceMs: number;

  constructor(
    rate = DROP_EVENT_RATE,
    burst = DROP_EVENT_BURST,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.intervalMs = 1000 / rate;
    this.toleranceMs = (burst - 1) * this.intervalMs;
  }

  /** One drop of `reason`: undefined when suppressed, else the drops suppressed since the reason's last sample. */
  offer(reason: DropReason): number | undefined {
    const now = this.now();
    const due = this.due.get(reason) ?? 0;
    if (due > now + this.toleranceMs) {
      this.missed.set(reason, (this.missed.get(reason) ?? 0) + 1);
      return undefined;
    }
    this.due.set(reason, Math.max(due, now) + this.intervalMs);
    const suppressed = this.missed.get(reason) ?? 0;
    this.missed.set(reason, 0);
    return suppressed;
  }
}

/** Where a drop happened (the same fields as native drop_site). */
export interface DropSite {
  reason: DropReason;
  direction: 'egress' | 'ingress';
  kind: DropSample['kind'];
  /** The network it is counted for, when the path has it. */
  vni?: number;
  vtep?: string;
  bytes: Buffer;
}

/** The TypeScript path's drop events and per-network drop counts. */
export class DropEvents {
  private readonly sampler = new DropSampler();
  private readonly byNetwork = new Map<number, Float64Array>();
  private listener: ((d: DropSample) => void) | null = null;

  setListener(listener: ((d: DropSample) => void) | null): void {
    this.listener = listener;
  }

  /** Counts the drop for its network and offers it to the sampler. */
  offer(site: DropSite): void {
    const index = DROP_REASONS.indexOf(site.reason);
    if (site.vni !== undefined) {
      let row = this.byNetwork.get(site.vni);
      if (row === undefined) this.byNetwork.set(site.vni, (row = new Float64Array(DROP_REASONS.length)));
      row[index]++;
    }
    const suppressed = this.sampler.offer(site.reason);
    if (suppressed === undefined || this.listener === null) return;
    const keep = site.kind === 'esp' ? ESP_HEAD : HEAD;
    const sample: DropSample = { reason: site.reason, direction: site.direction, kind: site.kind, suppressed, len: site.bytes.length, head: Buffer.from(site.bytes.subarray(0, keep)) };
    if (site.vni !== undefined) sample.vni = site.vni;
    if (site.vtep !== undefined) sample.vtep = site.vtep;
    this.listener(sample);
  }

  /** The network's drops by reason (zeros for a network with none yet). */
  networkDrops(vni: number): Record<DropReason, number> {
    const row = this.byNetwork.get(vni);
    return Object.fromEntries(DROP_REASONS.map((r, i) => [r, row?.[i] ?? 0])) as Record<DropReason, number>;
  }

  removeNetwork(vni: number): void {
    this.byNetwork.delete(vni);
  }
}

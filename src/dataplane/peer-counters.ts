/**
 * Per-VTEP counters of the TypeScript path (docs/datapath.md "Per-VTEP
 * counters"): what the stage lists sent to and admitted from each remote
 * VTEP. Like the native path's table, a VTEP's row lives while it is a VTEP
 * of some network and starts from zero when it becomes one again.
 */
import type { PeerCounters } from './datapath.js';

export class PeerCounterTable {
  private readonly rows = new Map<string, PeerCounters>();

  tx(vtep: string, bytes: number): void {
    const row = this.row(vtep);
    row.txPackets++;
    row.txBytes += bytes;
  }

  rx(vtep: string, bytes: number): void {
    const row = this.row(vtep);
    row.rxPackets++;
    row.rxBytes += bytes;
  }

  /** A row for each of `vteps` (the VTEPs of every network now), zeros included; rows of others are forgotten. */
  list(vteps: Set<string>): PeerCounters[] {
    for (const vtep of this.rows.keys()) if (!vteps.has(vtep)) this.rows.delete(vtep);
    return [...vteps].map((vtep) => ({ ...this.row(vtep) }));
  }

  private row(vtep: string): PeerCounters {
    let row = this.rows.get(vtep);
    if (row === undefined) {
      row = { vtep, txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0 };
      this.rows.set(vtep, row);
    }
    return row;
  }
}

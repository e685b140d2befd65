/** The text form of `overlayctl peers`: one line per remote VTEP, then the reasons (the fields: docs/debugging.md). */
import { printTable } from './table.js';

interface PeerLine {
  vtep: string;
  node: string | null;
  networks: string[];
  state: string;
  rttMs: number | null;
  lossPct: number | null;
  lastRx: string | null;
  txPackets: number;
  rxPackets: number;
  mtu: number;
  reason?: string;
  clockOffsetMs?: number;
}

/** "3s ago" for an ISO time, "-" for none. */
function ago(iso: string | null, now: number): string {
  return iso === null ? '-' : `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))}s ago`;
}

export function printPeers(rows: Record<string, unknown>[]): void {
  const now = Date.now();
  const peers = rows as unknown as PeerLine[];
  const table = peers.map((p) => ({
    vtep: p.vtep,
    node: p.node,
    networks: p.networks,
    state: p.state,
    rtt: p.rttMs === null ? null : `${p.rttMs.toFixed(2)} ms`,
    loss: p.lossPct === null ? null : `${Math.round(p.lossPct)}%`,
    'last rx': ago(p.lastRx, now),
    'tx pkts': p.txPackets,
    'rx pkts': p.rxPackets,
    mtu: p.mtu,
    clock: p.clockOffsetMs === undefined ? null : `${p.clockOffsetMs > 0 ? '+' : ''}${p.clockOffsetMs} ms`,
  }));
  printTable(table, ['vtep', 'node', 'networks', 'state', 'rtt', 'loss', 'last rx', 'tx pkts', 'rx pkts', 'mtu', 'clock']);
  const reasons = peers.filter((p) => p.reason !== undefined);
  if (reasons.length > 0) process.stdout.write('\n');
  for (const p of reasons) process.stdout.write(`${p.vtep} ${p.state}: ${p.reason}\n`);
}

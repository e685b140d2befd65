/** The text form of `overlayctl trace`, read like `ovs-appctl ofproto/trace`: the flow, one indented line per stage, the verdict. */

import { copyCount, describeCopy } from '../agent/trace-groups.js';

/** The fields of a trace report (src/agent/trace.ts TraceReport) the text form shows. */
interface TraceText {
  network: string;
  vni: number;
  direction: string;
  datapath: string;
  frame: string;
  verdict: string;
  reason?: string;
  stages: { stage: string; result: string; detail: string }[];
  outer?: { src: string; dst: string; sport?: number; dport?: number; vni: number; esp?: { spi: string; seq: number } };
  replication?: { vtep: string; node: string | null }[];
  note?: string;
}

export function printTrace(r: TraceText): void {
  const lines = [`Flow: ${r.frame}`, `Network: ${r.network}, vni ${r.vni}, ${r.direction} (${r.datapath} data path)`, ''];
  const width = Math.max(...r.stages.map((s) => s.result.length));
  for (const s of r.stages) lines.push(`  ${s.stage.padEnd(11)}  ${s.result.padEnd(width)}  ${s.detail}`);
  lines.push('');
  const o = r.outer;
  const outer = o && (o.esp ? `ESP spi ${o.esp.spi} seq ${o.esp.seq} ${o.src} → ${o.dst}, vni ${o.vni}` : `udp ${o.src}${o.sport ? `:${o.sport}` : ''} → ${o.dst}:${o.dport}, vni ${o.vni}`);
  if (r.verdict === 'drop') lines.push(`Verdict: drop (${r.reason})`);
  else if (r.verdict === 'forward') lines.push(`Verdict: forward — ${outer}`);
  else if (r.verdict === 'deliver') lines.push(`Verdict: deliver — from ${outer}`);
  else lines.push('Verdict: reply — answered on this host, nothing leaves it');
  const copies = r.replication ?? [];
  if (copies.length > 0) lines.push(`Replication: ${copyCount(copies.length)}, to ${copies.map(describeCopy).join(', ')}`);
  if (r.note) lines.push(`Note: ${r.note}`);
  process.stdout.write(lines.join('\n') + '\n');
}

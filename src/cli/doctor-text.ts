/** The text form of `overlayctl doctor`: one line per check, the hint under a problem, a summary line. */

/** The fields of a doctor report (src/agent/doctor-report.ts DoctorReport) the text form shows. */
interface DoctorText {
  node: string;
  status: 'ok' | 'warn' | 'fail';
  counts: { ok: number; warn: number; fail: number };
  checks: { check: string; status: 'ok' | 'warn' | 'fail'; detail: string; hint: string }[];
}

const LABEL = { ok: 'ok', warn: 'WARN', fail: 'FAIL' } as const;

export function printDoctor(r: DoctorText): void {
  const width = Math.max(...r.checks.map((c) => c.check.length));
  const lines: string[] = [];
  for (const c of r.checks) {
    lines.push(`${LABEL[c.status].padEnd(4)}  ${c.check.padEnd(width)}  ${c.detail}`);
    if (c.status !== 'ok' && c.hint) lines.push(`${' '.repeat(width + 8)}→ ${c.hint}`);
  }
  const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;
  lines.push('', `${r.node}: ${plural(r.counts.ok, 'check')} ok, ${plural(r.counts.warn, 'warning')}, ${plural(r.counts.fail, 'failure')}`);
  process.stdout.write(lines.join('\n') + '\n');
}

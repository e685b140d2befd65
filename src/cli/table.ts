/** Plain aligned text tables for people (scripts use --json). */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const cell = (v: unknown): string => (Array.isArray(v) ? v.join(',') : v === undefined || v === null ? '-' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd() + '\n';
  process.stdout.write(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) process.stdout.write(line(columns.map((c) => cell(r[c]))));
}

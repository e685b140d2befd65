/**
 * Markdown tables of benchmark results, with a "× baseline" column after
 * every metric (unless the column says not to): the row's value divided by
 * the baseline row's.
 */

/** One metric column. */
export interface MetricColumn<K extends string> {
  /** Key of the value in each row. */
  key: K;
  /** Header text, with unit. */
  title: string;
  /** Digits after the decimal point. Default 2. */
  digits?: number;
  /** Add a "× baseline" column after it. Default true; false where rows are not measured alike. */
  ratio?: boolean;
}

/** One row: a name and a value per metric. */
export interface ResultRow<K extends string> {
  name: string;
  values: Record<K, number>;
}

/** Renders rows as a markdown table; with `baseline` (a row name), adds ratio columns. */
export function renderTable<K extends string>(
  columns: readonly MetricColumn<K>[],
  rows: readonly ResultRow<K>[],
  baseline?: string,
): string {
  const base = rows.find((r) => r.name === baseline);
  const withRatio = (c: MetricColumn<K>): boolean => base !== undefined && c.ratio !== false;
  const header = ['', ...columns.flatMap((c) => (withRatio(c) ? [c.title, `× ${base?.name}`] : [c.title]))];
  const body = rows.map((row) => [
    row.name,
    ...columns.flatMap((c) => {
      const value = format(row.values[c.key], c.digits ?? 2);
      return base && withRatio(c) ? [value, format(row.values[c.key] / base.values[c.key], 2)] : [value];
    }),
  ]);
  const lines = [header, header.map((_, i) => (i === 0 ? '---' : '---:')), ...body];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function format(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** Percentiles and report printing shared by the benchmarks. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samples: readonly number[]): { n: number; p50: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) };
}

export interface Row {
  readonly metric: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean | null;
}

export function printRows(title: string, rows: readonly Row[]): void {
  const head = ['metric', 'value', 'target', 'met'];
  const cells = rows.map((r) => [r.metric, r.value, r.target, r.met === null ? '-' : r.met ? 'yes' : 'NO']);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => c.map((x, i) => x.padEnd(w[i]!)).join('  ');
  console.log(`\n${title}\n${line(head)}\n${line(w.map((n) => '-'.repeat(n)))}\n${cells.map(line).join('\n')}`);
}

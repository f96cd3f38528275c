/** Renders a migration's step journal as an aligned table for terminals. */
import type { MigrationRow, StepRow } from '../store/store.js';

const HEAD = ['step', 'host', 'try', 'status', 'sent', 'acked', 'done', 'ms', 'error'] as const;

function time(t: number | null): string {
  return t === null ? '-' : new Date(t).toISOString().slice(11, 23);
}

export function journalRows(steps: readonly StepRow[]): string[][] {
  return steps.map((s) => {
    const end = s.doneAt ?? s.failedAt;
    return [s.step, s.host, String(s.attempt), s.status, time(s.sentAt), time(s.ackedAt), time(s.doneAt ?? s.failedAt),
      end === null ? '-' : String(end - s.sentAt), s.error ?? ''];
  });
}

export function formatTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatJournal(m: MigrationRow, steps: readonly StepRow[]): string {
  const total = m.updatedAt - m.createdAt;
  const header = `migration ${m.id} (${m.uuid}) instance ${m.instanceUuid}: ${m.sourceCompute} -> ${m.destCompute ?? '?'}  ` +
    `status ${m.status}  ${total} ms`;
  const history = `statuses: ${m.state.history.map((h) => h.status).join(' -> ')}`;
  const err = m.error ? `\nerror: ${m.error}${m.state.leftovers.length ? `\nleft: ${m.state.leftovers.join('; ')}` : ''}` : '';
  return `${header}\n${history}${err}\n${formatTable(HEAD, journalRows(steps))}`;
}

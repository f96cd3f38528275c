/**
 * Renders the journal of GET /v2.1/baton/migrations/{id}/journal the way `baton up` prints it:
 * a header, the status history, the error, then one row per step attempt.
 */
import { formatTable } from '../journal-format.js';
import type { JournalHistoryEntry, JournalReply, JournalStep, NovaMigration } from './nova-types.js';

const HEAD = ['step', 'host', 'try', 'status', 'sent', 'acked', 'done', 'ms', 'error'] as const;

function epoch(t: string | number | null | undefined): number | null {
  if (t === null || t === undefined || t === '') return null;
  const n = typeof t === 'number' ? t : Date.parse(t.endsWith('Z') || /[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`);
  return Number.isFinite(n) ? n : null;
}

function clock(t: number | null): string {
  return t === null ? '-' : new Date(t).toISOString().slice(11, 23);
}

export function journalSteps(j: JournalReply): readonly JournalStep[] {
  if (Array.isArray(j.migration?.steps)) return j.migration.steps;
  if (Array.isArray(j.steps)) return j.steps;
  if (Array.isArray(j.journal)) return j.journal;
  const nested = (j.journal as { steps?: readonly JournalStep[] } | undefined)?.steps;
  return Array.isArray(nested) ? nested : [];
}

export function journalStatus(j: JournalReply): string | undefined {
  return j.status ?? j.migration?.status;
}

function historyOf(j: JournalReply): string[] {
  const h = j.history ?? j.status_history ?? j.migration?.history ?? [];
  return h.map((e: JournalHistoryEntry | string) => (typeof e === 'string' ? e : e.status));
}

export function stepRows(steps: readonly JournalStep[]): string[][] {
  return steps.map((s) => {
    const sent = epoch(s.sent_at);
    const end = epoch(s.done_at) ?? epoch(s.failed_at);
    return [s.step, s.host ?? '-', String(s.attempt ?? 1), s.status, clock(sent), clock(epoch(s.acked_at)), clock(end),
      end === null || sent === null ? '-' : String(end - sent), s.error ?? ''];
  });
}

export function formatJournalReply(migrationId: number, j: JournalReply, m?: NovaMigration): string {
  const mig = j.migration ?? m;
  const status = journalStatus(j) ?? mig?.status ?? '?';
  const route = mig ? `: ${mig.source_compute ?? '?'} -> ${mig.dest_compute ?? '?'}` : '';
  const server = mig?.instance_uuid ?? mig?.server_uuid;
  const lines = [`migration ${migrationId}${mig?.uuid ? ` (${mig.uuid})` : ''}${server ? ` instance ${server}` : ''}${route}  status ${status}`];
  const history = historyOf(j);
  if (history.length) lines.push(`statuses: ${history.join(' -> ')}`);
  const error = j.error ?? j.migration?.error;
  if (error) lines.push(`error: ${error}`);
  const left = j.migration?.leftovers ?? [];
  if (left.length) lines.push(`left: ${left.join('; ')}`);
  const q = j.migration?.queue;
  if (q) lines.push(`queue: position ${q.position} out of ${q.host}; waiting since ${clock(epoch(q.since))}: ${q.reason}`);
  lines.push(formatTable(HEAD, stepRows(journalSteps(j))));
  return lines.join('\n');
}

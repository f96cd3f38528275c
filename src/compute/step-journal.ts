/**
 * StepJournal: the compute's own durable record of the migration steps it accepted, on its host. It is
 * what makes a lightweight call's acknowledgement mean "durably accepted": the agent writes the request
 * here before it answers, resumes what is still running after a restart, answers status queries from it
 * and dedupes redeliveries by (migration, step, attempt).
 */
import type { ErrorBody } from '../core/errors.js';
import type { Step } from '../core/migration-steps.js';

export const EntryState = { RUNNING: 'running', DONE: 'done', FAILED: 'failed' } as const;
export type EntryState = (typeof EntryState)[keyof typeof EntryState];

export interface StepKey {
  readonly migrationId: number;
  readonly step: Step;
  readonly attempt: number;
}

export type Outcome = { readonly ok: true; readonly result: Record<string, unknown> } | { readonly ok: false; readonly error: ErrorBody };

export interface JournalEntry extends StepKey {
  readonly state: EntryState;
  /** The request's arguments as accepted (instance, dest, migrateData, ...), enough to run the work again. */
  readonly args: Record<string, unknown>;
  readonly result?: Record<string, unknown>;
  readonly error?: ErrorBody;
  /** How often this entry's work was started: 1 when it ran, 0 when it joined another attempt's work. */
  readonly executions: number;
  readonly acceptedAt: number;
  readonly updatedAt: number;
}

export interface NewEntry extends StepKey {
  readonly state: EntryState;
  readonly args: Record<string, unknown>;
  readonly outcome?: Outcome;
  readonly executions: number;
  readonly now: number;
}

/**
 * Contract (every adapter):
 * - Each write returns only once it is durable (it survives a crash of the process and, for a file, of
 *   the machine); a write that cannot be made durable throws, and the caller must not acknowledge.
 * - Entries are keyed by (migration, step, attempt); `accept` of an existing key throws.
 * - Reads see every write made before them. Methods are synchronous: the agent records a request and
 *   acknowledges it without yielding in between.
 * - Running entries are never deleted: `forget` and `pruneBefore` remove finished entries only, and an
 *   abort marker only once its migration has no running entry.
 */
export interface StepJournal {
  /** The entry of exactly this attempt, or null. */
  get(key: StepKey): JournalEntry | null;
  /** The entry of (migration, step) with the highest attempt, or null. */
  latest(migrationId: number, step: Step): JournalEntry | null;
  /** Every entry still running, oldest first (the work to resume at start). */
  running(): JournalEntry[];
  /** Records an accepted request. */
  accept(entry: NewEntry): void;
  /** Counts one more start of the entry's work (a resume after a restart) and marks it running. */
  countExecution(key: StepKey, now: number): void;
  /** Records the outcome of the entry's work. */
  settle(key: StepKey, outcome: Outcome, now: number): void;
  /** Records that the conductor asked to abort this migration; kept until the migration is forgotten. */
  markAborted(migrationId: number, now: number): void;
  isAborted(migrationId: number): boolean;
  /** Deletes the migration's finished entries (the conductor reported it terminal); returns how many. */
  forget(migrationId: number): number;
  /** Deletes finished entries last updated before `cutoff` (the TTL sweep); returns how many. */
  pruneBefore(cutoff: number): number;
  close(): void;
}

/** The outcome an entry records, or null while it runs. */
export function outcomeOf(e: JournalEntry): Outcome | null {
  if (e.state === EntryState.DONE) return { ok: true, result: e.result ?? {} };
  if (e.state === EntryState.FAILED) return { ok: false, error: e.error ?? { code: 'Internal', message: `${e.step} failed` } };
  return null;
}

/**
 * The StepJournal on SQLite (better-sqlite3): one small database file in the compute's state dir, written
 * with synchronous=FULL so that an acknowledged request survives a power loss; ":memory:" for the
 * embedded ephemeral mode and tests.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ErrorBody } from '../core/errors.js';
import { isStep } from '../core/migration-steps.js';
import { EntryState, type JournalEntry, type NewEntry, type Outcome, type StepJournal, type StepKey } from './step-journal.js';

/** Bumped with every change of the tables below; a journal written by a newer agent is refused. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS step_entry (
  migration_id INTEGER NOT NULL,
  step TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
  args TEXT NOT NULL,
  result TEXT,
  error TEXT,
  executions INTEGER NOT NULL,
  accepted_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (migration_id, step, attempt)
);
CREATE INDEX IF NOT EXISTS step_entry_by_state ON step_entry (state, updated_at);
CREATE TABLE IF NOT EXISTS migration_abort (
  migration_id INTEGER PRIMARY KEY,
  requested_at INTEGER NOT NULL
);`;

interface Row {
  readonly migration_id: number;
  readonly step: string;
  readonly attempt: number;
  readonly state: string;
  readonly args: string;
  readonly result: string | null;
  readonly error: string | null;
  readonly executions: number;
  readonly accepted_at: number;
  readonly updated_at: number;
}

/** Opens (creating if needed) the journal at `path`, or an in-memory one for ":memory:". */
export function openSqliteStepJournal(path: string): StepJournal {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (e) {
    throw new Error(`cannot open the compute step journal at ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > SCHEMA_VERSION) throw new Error(`it was written by a newer agent (schema ${version}, this one knows ${SCHEMA_VERSION})`);
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before the agent acknowledges the request it records.
    db.pragma('synchronous = FULL');
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  } catch (e) {
    db.close();
    throw new Error(`cannot use the compute step journal at ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return new SqliteStepJournal(db, path);
}

class SqliteStepJournal implements StepJournal {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #q;

  constructor(db: Database.Database, path: string) {
    this.#db = db;
    this.#path = path;
    this.#q = {
      get: db.prepare<[number, string, number], Row>('SELECT * FROM step_entry WHERE migration_id = ? AND step = ? AND attempt = ?'),
      latest: db.prepare<[number, string], Row>('SELECT * FROM step_entry WHERE migration_id = ? AND step = ? ORDER BY attempt DESC LIMIT 1'),
      running: db.prepare<[], Row>("SELECT * FROM step_entry WHERE state = 'running' ORDER BY accepted_at, migration_id, step, attempt"),
      insert: db.prepare('INSERT INTO step_entry (migration_id, step, attempt, state, args, result, error, executions, accepted_at, updated_at) '
        + 'VALUES (@migrationId, @step, @attempt, @state, @args, @result, @error, @executions, @now, @now)'),
      count: db.prepare("UPDATE step_entry SET executions = executions + 1, state = 'running', updated_at = ? "
        + 'WHERE migration_id = ? AND step = ? AND attempt = ?'),
      settle: db.prepare('UPDATE step_entry SET state = ?, result = ?, error = ?, updated_at = ? WHERE migration_id = ? AND step = ? AND attempt = ?'),
      abort: db.prepare('INSERT INTO migration_abort (migration_id, requested_at) VALUES (?, ?) ON CONFLICT (migration_id) DO NOTHING'),
      aborted: db.prepare<[number], { one: number }>('SELECT 1 AS one FROM migration_abort WHERE migration_id = ?'),
      forget: db.prepare("DELETE FROM step_entry WHERE migration_id = ? AND state <> 'running'"),
      forgetAbort: db.prepare("DELETE FROM migration_abort WHERE migration_id = ? "
        + "AND NOT EXISTS (SELECT 1 FROM step_entry WHERE step_entry.migration_id = migration_abort.migration_id AND state = 'running')"),
      prune: db.prepare("DELETE FROM step_entry WHERE state <> 'running' AND updated_at < ?"),
      pruneAborts: db.prepare('DELETE FROM migration_abort WHERE requested_at < ? '
        + "AND NOT EXISTS (SELECT 1 FROM step_entry WHERE step_entry.migration_id = migration_abort.migration_id)"),
    };
  }

  get(key: StepKey): JournalEntry | null {
    return this.#entry(this.#q.get.get(key.migrationId, key.step, key.attempt));
  }

  latest(migrationId: number, step: string): JournalEntry | null {
    return this.#entry(this.#q.latest.get(migrationId, step));
  }

  running(): JournalEntry[] {
    return this.#q.running.all().map((r) => this.#entry(r)!);
  }

  accept(e: NewEntry): void {
    this.#q.insert.run({
      migrationId: e.migrationId, step: e.step, attempt: e.attempt, state: e.state, args: JSON.stringify(e.args),
      result: e.outcome?.ok ? JSON.stringify(e.outcome.result) : null, error: e.outcome && !e.outcome.ok ? JSON.stringify(e.outcome.error) : null,
      executions: e.executions, now: e.now,
    });
  }

  countExecution(key: StepKey, now: number): void {
    this.#q.count.run(now, key.migrationId, key.step, key.attempt);
  }

  settle(key: StepKey, o: Outcome, now: number): void {
    this.#q.settle.run(o.ok ? EntryState.DONE : EntryState.FAILED, o.ok ? JSON.stringify(o.result) : null, o.ok ? null : JSON.stringify(o.error),
      now, key.migrationId, key.step, key.attempt);
  }

  markAborted(migrationId: number, now: number): void {
    this.#q.abort.run(migrationId, now);
  }

  isAborted(migrationId: number): boolean {
    return this.#q.aborted.get(migrationId) !== undefined;
  }

  forget(migrationId: number): number {
    return this.#db.transaction(() => {
      const n = this.#q.forget.run(migrationId).changes;
      this.#q.forgetAbort.run(migrationId);
      return n;
    })();
  }

  pruneBefore(cutoff: number): number {
    return this.#db.transaction(() => {
      const n = this.#q.prune.run(cutoff).changes;
      this.#q.pruneAborts.run(cutoff);
      return n;
    })();
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  /** Rows come from a file another process wrote: each field is checked, and a bad one names the entry. */
  #entry(r: Row | undefined): JournalEntry | null {
    if (r === undefined) return null;
    const where = `journal ${this.#path}: entry ${r.migration_id}/${r.step}/${r.attempt}`;
    if (!isStep(r.step)) throw new Error(`${where}: unknown step`);
    if (r.state !== EntryState.RUNNING && r.state !== EntryState.DONE && r.state !== EntryState.FAILED) throw new Error(`${where}: bad state ${r.state}`);
    const result = r.result === null ? undefined : jsonObject(r.result, `${where}: result`);
    const error = r.error === null ? undefined : errorBody(r.error, `${where}: error`);
    return {
      migrationId: r.migration_id, step: r.step, attempt: r.attempt, state: r.state, args: jsonObject(r.args, `${where}: args`),
      ...(result ? { result } : {}), ...(error ? { error } : {}),
      executions: r.executions, acceptedAt: r.accepted_at, updatedAt: r.updated_at,
    };
  }
}

function jsonObject(text: string, what: string): Record<string, unknown> {
  const v: unknown = JSON.parse(text);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function errorBody(text: string, what: string): ErrorBody {
  const v = jsonObject(text, what);
  if (typeof v['code'] !== 'string' || typeof v['message'] !== 'string') throw new Error(`${what} lacks code or message`);
  const fields = v['fields'];
  return { code: v['code'], message: v['message'],
    ...(typeof fields === 'object' && fields !== null && !Array.isArray(fields) ? { fields: fields as Record<string, unknown> } : {}) };
}

/**
 * Runs migration steps exactly once in effect on this host. Every request is recorded in the journal
 * before the agent answers it; redeliveries are deduped by (migration, step, attempt):
 * - the same key joins the running work, or answers (re-reports) the recorded outcome;
 * - a newer attempt joins a running earlier attempt or re-reports its success, and runs the work again
 *   only after the earlier attempt failed (the conductor's retry of a post or rollback step);
 * - an older attempt than the latest never runs: it gets the latest attempt's outcome.
 * After a restart, `resume` starts again the work of every entry still running.
 */
import { toErrorBody } from '../core/errors.js';
import { STEP_KIND, type Step } from '../core/migration-steps.js';
import type { Clock } from '../core/ports.js';
import type { StepStatusReply } from '../rpc/compute-api.js';
import { EntryState, outcomeOf, type JournalEntry, type Outcome, type StepJournal, type StepKey } from './step-journal.js';

export type Work = () => Promise<Record<string, unknown>>;

export interface StepRunnerDeps {
  readonly journal: StepJournal;
  readonly clock: Clock;
  /** Builds the work of an accepted entry from its journaled arguments. */
  readonly workFor: (step: Step, args: Record<string, unknown>) => Work;
  /** Sends a lightweight call's outcome to the conductor. */
  readonly report: (key: StepKey, outcome: Outcome) => void;
  readonly log?: (msg: string) => void;
  /** Told each time a step's work starts (the host's execution trail, at info level). */
  readonly onExecute?: (key: StepKey, how: 'new' | 'resumed') => void;
}

/** Work in progress for one (migration, step), and every attempt that waits on it. */
interface Running {
  readonly attempts: number[];
  readonly promise: Promise<Outcome>;
}

export class StepRunner {
  readonly #d: StepRunnerDeps;
  /** Only running work lives in memory; outcomes live in the journal. */
  readonly #running = new Map<string, Running>();

  constructor(deps: StepRunnerDeps) {
    this.#d = deps;
  }

  /**
   * Records the request (durably, before returning) and returns its outcome. For a lightweight call the
   * caller acknowledges at once; the outcome is reported to the conductor when it is known.
   */
  submit(key: StepKey, args: Record<string, unknown>): Promise<Outcome> {
    const { journal } = this.#d;
    const same = journal.get(key);
    if (same) return this.#again(same);
    const prev = journal.latest(key.migrationId, key.step);
    const now = this.#d.clock.now();
    const joinable = prev?.state === EntryState.RUNNING ? this.#running.get(slot(prev)) : undefined;
    if (prev && joinable) {
      journal.accept({ ...key, state: EntryState.RUNNING, args, executions: 0, now });
      joinable.attempts.push(key.attempt);
      return joinable.promise;
    }
    const recorded = prev ? outcomeOf(prev) : null;
    if (prev && recorded && (recorded.ok || prev.attempt > key.attempt)) {
      journal.accept({ ...key, state: prev.state, args, outcome: recorded, executions: 0, now });
      this.#reportIfLightweight(key, recorded);
      return Promise.resolve(recorded);
    }
    journal.accept({ ...key, state: EntryState.RUNNING, args, executions: 1, now });
    this.#d.onExecute?.(key, 'new');
    return this.#start(key, [key.attempt], args);
  }

  /** Starts again the work of every entry a previous agent left running (before requests are served). */
  resume(): number {
    const groups = new Map<string, JournalEntry[]>();
    for (const e of this.#d.journal.running()) groups.set(slot(e), [...(groups.get(slot(e)) ?? []), e]);
    for (const entries of groups.values()) {
      const top = entries.reduce((a, b) => (b.attempt > a.attempt ? b : a));
      this.#d.journal.countExecution(top, this.#d.clock.now());
      this.#d.log?.(`resuming ${top.step} of migration ${top.migrationId} (attempt ${top.attempt})`);
      this.#d.onExecute?.(top, 'resumed');
      void this.#start(top, entries.map((e) => e.attempt), top.args);
    }
    return groups.size;
  }

  /** What a request for `key` would join or re-report now; `unknown` only when it would run afresh. */
  status(key: StepKey): StepStatusReply {
    const e = this.#d.journal.get(key) ?? this.#d.journal.latest(key.migrationId, key.step);
    if (!e || (e.attempt < key.attempt && e.state === EntryState.FAILED)) return { state: 'unknown' };
    return { state: e.state, attempt: e.attempt, ...(e.result ? { result: e.result } : {}), ...(e.error ? { error: e.error } : {}) };
  }

  /** Number of (migration, step) pairs with work in progress. */
  get inFlight(): number {
    return this.#running.size;
  }

  /** Waits for every running step (clean shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#running.values()].map((r) => r.promise));
  }

  #again(e: JournalEntry): Promise<Outcome> {
    const recorded = outcomeOf(e);
    if (recorded) {
      // A redelivery after the outcome: report it again, in case the first report was lost.
      this.#reportIfLightweight(e, recorded);
      return Promise.resolve(recorded);
    }
    const r = this.#running.get(slot(e));
    if (r) return r.promise;
    // Running in the journal but nothing in memory: only when a resume failed to start; start it now.
    this.#d.journal.countExecution(e, this.#d.clock.now());
    this.#d.onExecute?.(e, 'resumed');
    return this.#start(e, [e.attempt], e.args);
  }

  #start(key: StepKey, attempts: number[], args: Record<string, unknown>): Promise<Outcome> {
    let started: Promise<Record<string, unknown>>;
    try {
      // Called in this synchronous stretch, so the driver has the work registered when submit returns.
      started = this.#d.workFor(key.step, args)();
    } catch (e) {
      started = Promise.reject(e);
    }
    const promise = started.then((result): Outcome => ({ ok: true, result }), (e: unknown): Outcome => ({ ok: false, error: toErrorBody(e) }))
      .then((o) => { this.#finish(key, o); return o; });
    this.#running.set(slot(key), { attempts, promise });
    return promise;
  }

  #finish(key: StepKey, o: Outcome): void {
    const r = this.#running.get(slot(key));
    this.#running.delete(slot(key));
    for (const attempt of r?.attempts ?? [key.attempt]) {
      const k = { ...key, attempt };
      try {
        this.#d.journal.settle(k, o, this.#d.clock.now());
      } catch (e) {
        // The entry stays running on disk: the next start resumes it, and its work decides from the facts again.
        this.#d.log?.(`could not record the outcome of ${key.step} of migration ${key.migrationId}: ${String(e)}`);
      }
      this.#reportIfLightweight(k, o);
    }
  }

  #reportIfLightweight(key: StepKey, o: Outcome): void {
    if (STEP_KIND[key.step] === 'lcall') this.#d.report(key, o);
  }
}

function slot(k: StepKey): string {
  return `${k.migrationId}/${k.step}`;
}

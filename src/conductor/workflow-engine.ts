/**
 * Loads a migration, applies one event to its workflow, and persists the new state, its journal
 * entries, claims and instance changes in one transaction. Commands that talk to computes are
 * handed to the dispatcher only after the commit.
 */
import { admissionOf, isLimited } from '../core/admission.js';
import { BatonError } from '../core/errors.js';
import { transition } from '../core/migration-workflow.js';
import type { WorkflowCommand, WorkflowEvent, WorkflowState } from '../core/migration-state.js';
import { isTerminal, NO_PROGRESS } from '../core/migration-status.js';
import type { Clock } from '../core/ports.js';
import { nextWakeup } from '../core/workflow-steps.js';
import { StoreBusy, VersionConflict, type Repo, type Store } from '../store/store.js';
import type { ConductorConfig } from './conductor-config.js';
import { InboundTaken, wakeQueue } from './admission-queue.js';
import { ClaimConflict, scheduleInTx } from './scheduling.js';

export type Outgoing = Extract<WorkflowCommand, { type: 'send' | 'query' }>;

export interface EngineDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly config: ConductorConfig;
  /** Receives the commands to send once their transaction has committed. */
  readonly dispatch: (migrationId: number, cmds: readonly Outgoing[]) => void;
  readonly onTerminal?: (migrationId: number, state: WorkflowState) => void;
  /** Told, after the commit, of queued migrations the transaction woke (a slot freed): they are due now. */
  readonly onWoken?: (migrationIds: readonly number[]) => void;
  readonly log?: (msg: string) => void;
}

interface Pending {
  readonly event: WorkflowEvent;
  readonly resolve: (s: WorkflowState | undefined) => void;
  readonly reject: (e: unknown) => void;
}

export class WorkflowEngine {
  readonly #d: EngineDeps;
  /** Events waiting per migration. One transaction at a time per migration in this conductor; what queues meanwhile goes in the next one together. */
  readonly #queues = new Map<number, Pending[]>();

  constructor(deps: EngineDeps) {
    this.#d = deps;
  }

  /** Applies `event`; resolves with the state it led to once that state is committed. */
  apply(migrationId: number, event: WorkflowEvent): Promise<WorkflowState | undefined> {
    return new Promise((resolve, reject) => {
      const queue = this.#queues.get(migrationId);
      if (queue) {
        queue.push({ event, resolve, reject });
        return;
      }
      this.#queues.set(migrationId, [{ event, resolve, reject }]);
      void this.#drain(migrationId);
    });
  }

  async #drain(id: number): Promise<void> {
    const queue = this.#queues.get(id)!;
    while (queue.length > 0) {
      const batch = queue.splice(0);
      try {
        const state = await this.#commit(id, batch.map((p) => p.event));
        for (const p of batch) p.resolve(state);
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    this.#queues.delete(id);
  }

  /** One transaction for the batch; another conductor's concurrent write makes it reload and apply again. */
  async #commit(id: number, events: WorkflowEvent[]): Promise<WorkflowState | undefined> {
    for (let i = 0; ; i++) {
      try {
        const res = await this.#d.store.transaction((tx) => this.#applyInTx(tx, id, events));
        if (!res) return undefined;
        if (res.outgoing.length > 0) this.#d.dispatch(id, res.outgoing);
        if (res.ended) this.#d.onTerminal?.(id, res.state);
        if (res.woken.length > 0) this.#d.onWoken?.(res.woken);
        return res.state;
      } catch (e) {
        // A lost race is retried on fresh rows. A lock timeout is not: the row is held by a stalled
        // session, so the event fails here (logged by the caller) and the deadline fires again on a later tick.
        if (retryable(e) && i < 10) continue;
        throw e;
      }
    }
  }

  async #applyInTx(tx: Repo, id: number, events: WorkflowEvent[]) {
    const row = await tx.getMigration(id, { forUpdate: true });
    if (!row) throw new BatonError('MigrationNotFound', `Migration ${id} could not be found.`);
    const now = this.#d.clock.now();
    const ctx = { now, config: this.#d.config.workflow };
    let state = row.state;
    const outgoing: Outgoing[] = [];
    const queue: WorkflowEvent[] = [...events];
    let changed = false;
    while (queue.length > 0) {
      const t = transition(state, queue.shift()!, ctx);
      changed ||= t.state !== state;
      state = t.state;
      for (const c of t.commands) {
        const follow = await this.#effect(tx, id, state, c, now, outgoing);
        if (follow) queue.push(follow);
      }
    }
    // A queued migration refused again is unchanged, but must stop being due: its wake-up time is saved.
    if (!changed && state.phase !== 'queued') return null;
    const terminal = isTerminal(state.status);
    let wakeup = terminal ? null : nextWakeup(state);
    if (!terminal && wakeup === null && state.phase !== 'queued') {
      // Invariant: a live migration always waits on a deadline (a queued one waits to be woken). Should that
      // ever break, keep it on the timer.
      this.#d.log?.(`migration ${id} in ${state.status} has nothing pending; re-examining it later`);
      wakeup = now + this.#d.config.startGraceMs;
    }
    if (!changed && wakeup === row.nextWakeup) return null;
    const admission = admissionOf(state);
    const destCompute = state.dest?.host ?? state.requestedHost;
    await tx.saveMigration(id, row.version, {
      state, status: state.status, destCompute, progress: state.progress ?? NO_PROGRESS,
      nextWakeup: wakeup, admission, error: state.error, updatedAt: now,
    });
    const limits = this.#d.config.limits;
    // Slots taken or given back (or a waiting one gone): whoever can go now is woken, in this transaction.
    const woken = isLimited(limits) && (row.admission !== admission || row.destCompute !== destCompute) ? await wakeQueue(tx, now, limits) : [];
    // A drain waits on its migrations: one ending is its cue.
    if (terminal && !isTerminal(row.status)) await tx.wakeDrain(row.sourceCompute, now);
    return { state, outgoing, ended: terminal && !isTerminal(row.status), woken };
  }

  /** Carries out one command inside the transaction; returns the event it produces, if any. */
  async #effect(tx: Repo, id: number, s: WorkflowState, c: WorkflowCommand, now: number, outgoing: Outgoing[]): Promise<WorkflowEvent | null> {
    switch (c.type) {
      case 'schedule':
        return scheduleInTx(tx, s, c, now, this.#d.config);
      case 'send':
        await tx.insertStep({ migrationId: id, step: c.step, attempt: c.attempt, host: c.host, status: 'sent', sentAt: now,
          ackedAt: null, doneAt: null, failedAt: null, error: null });
        outgoing.push(c);
        return null;
      case 'query':
        outgoing.push(c);
        return null;
      case 'journal':
        await tx.markStep(id, c.step, c.attempt, c.status, now, c.error ? `${c.error.code}: ${c.error.message}` : null);
        return null;
      case 'release-claim':
        await tx.deleteClaim(id);
        return null;
      case 'instance':
        await tx.updateInstance(s.instance.uuid, { ...(c.host !== undefined ? { host: c.host } : {}), taskState: c.taskState, updatedAt: now });
        return null;
    }
  }
}

function retryable(e: unknown): boolean {
  return e instanceof VersionConflict || e instanceof ClaimConflict || e instanceof InboundTaken || (e instanceof StoreBusy && e.retryNow);
}

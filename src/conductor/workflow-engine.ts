/**
 * Loads a migration, applies one event to its workflow, and persists the new state, its journal
 * entries, claims and instance changes in one transaction. Commands that talk to computes are
 * handed to the dispatcher only after the commit.
 */
import { BatonError } from '../core/errors.js';
import { transition } from '../core/migration-workflow.js';
import type { WorkflowCommand, WorkflowEvent, WorkflowState } from '../core/migration-state.js';
import { isTerminal, NO_PROGRESS } from '../core/migration-status.js';
import type { Clock } from '../core/ports.js';
import { nextWakeup } from '../core/workflow-steps.js';
import { VersionConflict, type Repo, type Store } from '../store/store.js';
import type { ConductorConfig } from './conductor-config.js';
import { scheduleInTx } from './scheduling.js';

export type Outgoing = Extract<WorkflowCommand, { type: 'send' | 'query' }>;

export interface EngineDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly config: ConductorConfig;
  /** Receives the commands to send once their transaction has committed. */
  readonly dispatch: (migrationId: number, cmds: readonly Outgoing[]) => void;
  readonly onTerminal?: (migrationId: number, state: WorkflowState) => void;
}

export class WorkflowEngine {
  readonly #d: EngineDeps;

  constructor(deps: EngineDeps) {
    this.#d = deps;
  }

  /** Applies `event`; a concurrent writer makes it reload and apply again on the fresh state. */
  async apply(migrationId: number, event: WorkflowEvent): Promise<WorkflowState | undefined> {
    for (let i = 0; ; i++) {
      try {
        const res = await this.#d.store.transaction((tx) => this.#applyInTx(tx, migrationId, event));
        if (!res) return undefined;
        if (res.outgoing.length > 0) this.#d.dispatch(migrationId, res.outgoing);
        if (res.ended) this.#d.onTerminal?.(migrationId, res.state);
        return res.state;
      } catch (e) {
        if (e instanceof VersionConflict && i < 10) continue;
        throw e;
      }
    }
  }

  async #applyInTx(tx: Repo, id: number, event: WorkflowEvent) {
    const row = await tx.getMigration(id, { forUpdate: true });
    if (!row) throw new BatonError('MigrationNotFound', `Migration ${id} could not be found.`);
    const now = this.#d.clock.now();
    const ctx = { now, config: this.#d.config.workflow };
    let state = row.state;
    const outgoing: Outgoing[] = [];
    const queue: WorkflowEvent[] = [event];
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
    if (!changed) return null;
    const terminal = isTerminal(state.status);
    await tx.saveMigration(id, row.version, {
      state, status: state.status, destCompute: state.dest?.host ?? null, progress: state.progress ?? NO_PROGRESS,
      nextWakeup: terminal ? null : nextWakeup(state), error: state.error, updatedAt: now,
    });
    return { state, outgoing, ended: terminal && !isTerminal(row.status) };
  }

  /** Carries out one command inside the transaction; returns the event it produces, if any. */
  async #effect(tx: Repo, id: number, s: WorkflowState, c: WorkflowCommand, now: number, outgoing: Outgoing[]): Promise<WorkflowEvent | null> {
    switch (c.type) {
      case 'schedule':
        return scheduleInTx(tx, s, c, now, this.#d.config.serviceDownTimeMs);
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

/** Drives the pure workflow through events in unit tests: the simulated clock is the `now` each event is applied at. */
import type { WorkflowCommand, WorkflowConfig, WorkflowEvent, WorkflowState } from '../migration-state.js';
import { Step } from '../migration-steps.js';
import { newWorkflow, transition } from '../migration-workflow.js';
import { ctx, desc, FLAVOR, NOW } from './fixtures.js';

/** Applies events in order, collecting every command. */
export function run(s: WorkflowState, events: WorkflowEvent[], now = NOW, cfg: Partial<WorkflowConfig> = {}) {
  const commands: WorkflowCommand[] = [];
  for (const e of events) {
    const t = transition(s, e, ctx(now, cfg));
    s = t.state;
    commands.push(...t.commands);
  }
  return { s, commands };
}

export const fresh = (requestedHost: string | null = null) => newWorkflow({ migrationId: 7,
  instance: { uuid: 'i', name: 'vm', flavor: FLAVOR, imageRef: 'img' }, source: desc('src'), requestedHost, blockMigration: 'auto', now: NOW });

/** The steps sent, as `step@host#attempt`. */
export const sends = (cmds: WorkflowCommand[]) => cmds.filter((c) => c.type === 'send').map((c) => `${c.step}@${c.host}#${c.attempt}`);

/** Journal entries, as `step#attempt status [code]`. */
export const journal = (cmds: WorkflowCommand[]) =>
  cmds.filter((c) => c.type === 'journal').map((c) => `${c.step}#${c.attempt} ${c.status}${c.error ? ` ${c.error.code}` : ''}`);

export const done = (step: Step, attempt = 1, result: Record<string, unknown> = {}): WorkflowEvent => ({ type: 'done', step, attempt, result });

export const failed = (step: Step, code = 'MigrationError', attempt = 1): WorkflowEvent =>
  ({ type: 'failed', step, attempt, error: { code, message: `boom in ${step}` } });

/** A migration whose live_migration was sent to `src` (destination `dst`) but not yet acknowledged. */
export function migrateSent(cfg: Partial<WorkflowConfig> = {}) {
  return run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, done(Step.CHECK_DEST), done(Step.CHECK_SOURCE),
    done(Step.PRE, 1, { uri: 'fake://dst/i' })], NOW, cfg);
}

/** A migration brought to the point where live_migration has been acknowledged. */
export function running(cfg: Partial<WorkflowConfig> = {}) {
  return run(migrateSent(cfg).s, [{ type: 'acked', step: Step.MIGRATE, attempt: 1 }], NOW, cfg);
}

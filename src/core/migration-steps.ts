/** The spec's RPC steps, by their Nova method names, and how each is sent. */
export const Step = {
  CHECK_DEST: 'check_can_live_migrate_destination',
  CHECK_SOURCE: 'check_can_live_migrate_source',
  PRE: 'pre_live_migration',
  MIGRATE: 'live_migration',
  POST_SOURCE: 'post_live_migration_at_source',
  POST_DEST: 'post_live_migration_at_destination',
  ROLLBACK_SOURCE: 'rollback_live_migration_at_source',
  ROLLBACK_DEST: 'rollback_live_migration_at_destination',
  ABORT: 'live_migration_abort',
  FORCE_COMPLETE: 'live_migration_force_complete',
} as const;
export type Step = (typeof Step)[keyof typeof Step];

export const ALL_STEPS: readonly Step[] = Object.values(Step);

export function isStep(s: string): s is Step {
  return (ALL_STEPS as readonly string[]).includes(s);
}

/**
 * `call`: the reply is the outcome. `lcall` (the spec's lightweight call): the reply is only an
 * acknowledgement that the compute accepted the work; the outcome arrives later as an event.
 */
export type SendKind = 'call' | 'lcall';

export const STEP_KIND: Record<Step, SendKind> = {
  check_can_live_migrate_destination: 'call',
  check_can_live_migrate_source: 'call',
  pre_live_migration: 'call',
  live_migration: 'lcall',
  post_live_migration_at_source: 'lcall',
  post_live_migration_at_destination: 'lcall',
  rollback_live_migration_at_source: 'lcall',
  rollback_live_migration_at_destination: 'lcall',
  live_migration_abort: 'call',
  live_migration_force_complete: 'call',
};

/** Steps that are re-sent after a failure because the work they finish has to happen (the spec's post/rollback). */
export const RETRIED_STEPS: readonly Step[] = [Step.POST_SOURCE, Step.POST_DEST, Step.ROLLBACK_SOURCE, Step.ROLLBACK_DEST];

/** Journal states of a step attempt, in the order they happen. */
export const StepStatus = { SENT: 'sent', ACKED: 'acked', DONE: 'done', FAILED: 'failed' } as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

/** Answer of the idempotent status query a conductor sends when a step's outcome is unknown. */
export const RemoteStepState = { UNKNOWN: 'unknown', RUNNING: 'running', DONE: 'done', FAILED: 'failed' } as const;
export type RemoteStepState = (typeof RemoteStepState)[keyof typeof RemoteStepState];

/**
 * Step bookkeeping for the migration workflow: sending, marking outcomes, deadlines.
 * Each helper returns a new state plus the commands it implies; nothing here decides the flow.
 */
import type { ErrorBody } from './errors.js';
import type { StepState, WorkflowCommand, WorkflowContext, WorkflowState } from './migration-state.js';
import { STEP_KIND, Step } from './migration-steps.js';
import type { MigrationStatus } from './migration-status.js';

export interface Out {
  state: WorkflowState;
  commands: WorkflowCommand[];
}

export function out(state: WorkflowState, commands: WorkflowCommand[] = []): Out {
  return { state, commands };
}

/** How long the conductor waits for an attempt's outcome before asking the compute. */
export function stepTimeout(step: Step, ctx: WorkflowContext): number {
  const c = ctx.config;
  switch (step) {
    case Step.CHECK_DEST:
    case Step.CHECK_SOURCE:
      return c.checkTimeoutMs;
    case Step.PRE:
      return c.preTimeoutMs;
    case Step.MIGRATE:
      return c.migrateStallMs;
    case Step.POST_SOURCE:
    case Step.POST_DEST:
      return c.postTimeoutMs;
    case Step.ROLLBACK_SOURCE:
    case Step.ROLLBACK_DEST:
      return c.rollbackTimeoutMs;
    default:
      return c.checkTimeoutMs;
  }
}

/** "Still running" answers tolerated per attempt: a check or prepare that overruns has failed; a copy may run long. */
export function maxWaits(step: Step, ctx: WorkflowContext): number {
  if (step === Step.MIGRATE) return ctx.config.migrateMaxWaits;
  if (step === Step.CHECK_DEST || step === Step.CHECK_SOURCE) return 0;
  return ctx.config.maxAttempts;
}

export function setStatus(s: WorkflowState, status: MigrationStatus, ctx: WorkflowContext): WorkflowState {
  if (s.status === status) return s;
  return { ...s, status, history: [...s.history, { status, at: ctx.now }] };
}

export function putStep(s: WorkflowState, step: Step, st: StepState): WorkflowState {
  return { ...s, steps: { ...s.steps, [step]: st } };
}

/** Sends the next attempt of a step to a host: journaled as sent in this transaction, sent after commit. */
export function send(o: Out, step: Step, host: string, args: Record<string, unknown>, ctx: WorkflowContext): Out {
  const prev = o.state.steps[step];
  const attempt = (prev?.attempt ?? 0) + 1;
  const timeoutMs = stepTimeout(step, ctx);
  const st: StepState = { host, attempt, status: 'sent', sentAt: ctx.now, deadline: ctx.now + timeoutMs + ctx.config.queryTimeoutMs,
    queries: 0, waits: 0, retryAt: null };
  // An attempt replaced while still open (its host never got it) gets its outcome in the journal too.
  const superseded: WorkflowCommand[] = prev && (prev.status === 'sent' || prev.status === 'acked')
    ? [{ type: 'journal', step, host: prev.host, attempt: prev.attempt, status: 'failed',
      error: { code: 'MessagingTimeout', message: `superseded: no outcome from ${prev.host}; sent again as attempt ${attempt}` } }]
    : [];
  return {
    state: putStep(o.state, step, st),
    commands: [...o.commands, ...superseded, { type: 'send', step, host, attempt, kind: STEP_KIND[step], timeoutMs, args }],
  };
}

/** True when an event about `attempt` concerns the live attempt of `step`, which is still unresolved. */
export function isOpen(s: WorkflowState, step: Step, attempt: number): boolean {
  const st = s.steps[step];
  return st !== undefined && st.attempt === attempt && (st.status === 'sent' || st.status === 'acked');
}

export function markAcked(o: Out, step: Step, ctx: WorkflowContext): Out {
  const st = o.state.steps[step]!;
  const next: StepState = { ...st, status: 'acked', deadline: ctx.now + stepTimeout(step, ctx), queries: 0 };
  return { state: putStep(o.state, step, next),
    commands: [...o.commands, { type: 'journal', step, host: st.host, attempt: st.attempt, status: 'acked' }] };
}

export function markDone(o: Out, step: Step, result: Record<string, unknown> | undefined): Out {
  const st = o.state.steps[step]!;
  const next: StepState = { ...st, status: 'done', deadline: null, ...(result ? { result } : {}) };
  return { state: putStep(o.state, step, next),
    commands: [...o.commands, { type: 'journal', step, host: st.host, attempt: st.attempt, status: 'done' }] };
}

export function markFailed(o: Out, step: Step, error: ErrorBody): Out {
  const st = o.state.steps[step]!;
  const next: StepState = { ...st, status: 'failed', deadline: null, error };
  return { state: putStep(o.state, step, next),
    commands: [...o.commands, { type: 'journal', step, host: st.host, attempt: st.attempt, status: 'failed', error }] };
}

/** Asks the compute what became of the live attempt, and waits for that answer before asking again. */
export function query(o: Out, step: Step, ctx: WorkflowContext): Out {
  const st = o.state.steps[step]!;
  const timeoutMs = ctx.config.queryTimeoutMs;
  const next: StepState = { ...st, queries: st.queries + 1, deadline: ctx.now + timeoutMs * 2 };
  return { state: putStep(o.state, step, next),
    commands: [...o.commands, { type: 'query', step, host: st.host, attempt: st.attempt, timeoutMs }] };
}

export function isResolved(s: WorkflowState, step: Step): boolean {
  const st = s.steps[step];
  return st !== undefined && (st.status === 'done' || (st.status === 'failed' && st.retryAt === null));
}

export function isDone(s: WorkflowState, step: Step): boolean {
  return s.steps[step]?.status === 'done';
}

/**
 * The earliest moment the workflow needs a `tick`: an outcome deadline, a retry, or a queued migration's
 * next look at the admission lock. Null when nothing waits on time (a queued one waits to be woken).
 */
export function nextWakeup(s: WorkflowState): number | null {
  let next: number | null = s.phase === 'queued' ? (s.queue?.retryAt ?? null) : null;
  for (const st of Object.values(s.steps)) {
    for (const t of [st?.deadline ?? null, st?.retryAt ?? null]) {
      if (t !== null && (next === null || t < next)) next = t;
    }
  }
  return next;
}

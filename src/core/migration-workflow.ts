/**
 * The conductor-owned live migration as a pure transition: (state, event, ctx) -> {state, commands}.
 * It implements the flow of remove-compute-compute-communication: both checks at once, then
 * pre_live_migration on the destination, then live_migration on the source as a lightweight call,
 * then post (or rollback) on both sides, each sent by the conductor. Time arrives only through ctx.now.
 */
import type { ErrorBody } from './errors.js';
import type { HostDescriptor, InstanceRef, Transition, WorkflowContext, WorkflowEvent, WorkflowState } from './migration-state.js';
import { Step } from './migration-steps.js';
import { isTerminal } from './migration-status.js';
import { argsFor } from './workflow-args.js';
import { afterDone, afterFailure, beginRollback, chaseAbort, finish, onAbort, onForceComplete, onProgress, onScheduled } from './workflow-phases.js';
import { isOpen, markAcked, markDone, markFailed, maxWaits, out, query, send, setStatus, type Out } from './workflow-steps.js';
import { onMustWait, readmit, scheduleCommand } from './workflow-queue.js';
import { canProveSwitchOver, isSwitchOverError, proveSwitchOver } from './workflow-switchover.js';

export function newWorkflow(args: {
  migrationId: number; instance: InstanceRef; source: HostDescriptor; requestedHost: string | null;
  blockMigration: boolean | 'auto'; now: number;
}): WorkflowState {
  return {
    migrationId: args.migrationId, instance: args.instance, source: args.source, dest: null,
    requestedHost: args.requestedHost, blockMigration: args.blockMigration,
    status: 'accepted', phase: 'new', steps: {}, excluded: [], scheduleAttempts: 0, switchedOver: false,
    abortRequested: false, ending: null, error: null, leftovers: [], progress: null,
    history: [{ status: 'accepted', at: args.now }],
  };
}

export function transition(state: WorkflowState, event: WorkflowEvent, ctx: WorkflowContext): Transition {
  if (state.phase === 'done' || isTerminal(state.status)) return { state, commands: [] };
  const o = readmit(state, event, apply(out(state), event, ctx));
  return { state: o.state, commands: o.commands };
}

function apply(o: Out, e: WorkflowEvent, ctx: WorkflowContext): Out {
  const s = o.state;
  switch (e.type) {
    case 'start':
      // Queued until the engine grants a slot and a destination (in the same transaction when one is free).
      if (s.phase !== 'new') return o;
      return out({ ...setStatus(s, 'queued', ctx), phase: 'queued' }, [scheduleCommand(s)]);
    case 'scheduled':
      return onScheduled(o, e.dest, ctx);
    case 'must-wait':
      return onMustWait(o, e.reason, e.retryAt, ctx);
    case 'schedule-failed':
      return finish(o, 'error', `${e.error.code}: ${e.error.message}`, ctx);
    case 'acked':
      return isOpen(s, e.step, e.attempt) && s.steps[e.step]!.status === 'sent' ? onAcked(o, e.step, ctx) : o;
    case 'done':
      return onDone(o, e.step, e.attempt, e.result, ctx);
    case 'failed':
      return onFailed(o, e.step, e.attempt, e.error, ctx);
    case 'timeout':
      return isOpen(s, e.step, e.attempt) ? askOrGiveUp(o, e.step, ctx) : o;
    case 'status':
      return onStatus(o, e, ctx);
    case 'query-failed':
      return isOpen(s, e.step, e.attempt) ? onQueryFailed(o, e.step, e.error, ctx) : o;
    case 'progress':
      return isCopyRunning(s, e.attempt) ? onProgress(o, e.progress, ctx) : o;
    case 'tick':
      // A migration whose start message was lost is started by the timer instead.
      return s.phase === 'new' ? apply(o, { type: 'start' }, ctx) : onTick(o, ctx);
    case 'recover':
      return onRecover(o, ctx);
    case 'abort':
      return onAbort(o, ctx);
    case 'force-complete':
      return onForceComplete(o, ctx);
    case 'switched-over':
      return e.host === s.dest?.host ? proveSwitchOver(o, e.evidence, ctx) : o;
  }
}

/*
 * Late and repeated outcomes are judged against facts, never dropped for their age alone:
 * - `done` of live_migration, from any attempt and even after the conductor gave up and began a rollback, is the
 *   source's hypervisor saying the copy completed and the destination runs the guest: proof of switch-over
 *   (unless a rollback step already succeeded, which is the opposite fact; see canProveSwitchOver).
 * - `done` of an older attempt of another step counts for the live attempt where every attempt goes to the same
 *   host and the compute joins a repeated request to the work already under way. check_can_live_migrate_destination
 *   is the exception: its attempts follow the scheduler from host to host, so only the live attempt's answer counts.
 * - `failed` (and a `failed` status answer) of an older attempt says nothing about the live attempt, which reports
 *   its own outcome: ignored. A failure with MigrationSwitchedOver is a fact whatever its attempt: proof.
 * - `acked`, `timeout`, `query-failed` and `running`/`unknown` answers concern one attempt's delivery: only the
 *   live attempt's count.
 * - `progress` from an older attempt comes from the copy the compute joined the live attempt to: it counts.
 * Once the migration is terminal nothing changes it here; the reconciler repairs a record that facts contradict.
 */
function onDone(o: Out, step: Step, attempt: number, result: Record<string, unknown> | undefined, ctx: WorkflowContext): Out {
  const st = o.state.steps[step];
  if (!st || attempt > st.attempt || st.status === 'done') return o;
  if (step === Step.MIGRATE && st.status === 'failed') {
    return proveSwitchOver(o, `${step} attempt ${attempt} on ${st.host} reported done after it was given up`, ctx);
  }
  if (step === Step.CHECK_DEST && attempt !== st.attempt) return o;
  if (st.status === 'failed' && st.retryAt === null) return o;
  return afterDone(markDone(o, step, result), step, ctx);
}

function onFailed(o: Out, step: Step, attempt: number, error: ErrorBody, ctx: WorkflowContext): Out {
  const s = o.state;
  if (isSwitchOverError(error.code)) {
    // The source refusing live_migration because its copy already completed is that copy's success.
    if (step === Step.MIGRATE) return onDone(o, step, attempt, undefined, ctx);
    if (canProveSwitchOver(s)) {
      const marked = isOpen(s, step, attempt) ? markFailed(o, step, error) : o;
      return proveSwitchOver(marked, `${step} on ${s.steps[step]?.host ?? '?'}: ${error.message}`, ctx);
    }
  }
  return isOpen(s, step, attempt) ? afterFailure(markFailed(o, step, error), step, ctx) : o;
}

/** The copy runs: live_migration is unresolved and the report is about its live attempt or one it joined. */
function isCopyRunning(s: WorkflowState, attempt: number): boolean {
  const st = s.steps[Step.MIGRATE];
  return st !== undefined && attempt <= st.attempt && (st.status === 'sent' || st.status === 'acked');
}

function onStatus(o: Out, e: Extract<WorkflowEvent, { type: 'status' }>, ctx: WorkflowContext): Out {
  if (e.state === 'done') return onDone(o, e.step, e.attempt, e.result, ctx);
  const st = o.state.steps[e.step];
  if (e.state === 'failed') {
    return onFailed(o, e.step, e.attempt, e.error ?? { code: 'MigrationError', message: `${e.step} failed on ${st?.host ?? '?'}` }, ctx);
  }
  if (!st || !isOpen(o.state, e.step, e.attempt)) return o;
  switch (e.state) {
    case 'running': {
      if (st.waits >= maxWaits(e.step, ctx)) return giveUp(o, e.step, `still running on ${st.host} after its deadline`, ctx);
      const deadline = ctx.now + (e.step === Step.MIGRATE ? ctx.config.migrateStallMs : ctx.config.queryTimeoutMs * 2);
      return out({ ...o.state, steps: { ...o.state.steps, [e.step]: { ...st, waits: st.waits + 1, queries: 0, deadline } } }, o.commands);
    }
    case 'unknown':
      // The compute never accepted it: the request was lost (a crash between commit and send, or a lost message).
      // A copy that never started while an abort waits is simply not started: nothing moved, so it is cancelled.
      if (e.step === Step.MIGRATE && o.state.abortRequested) {
        return beginRollback(markFailed(o, e.step, { code: 'MigrationCancelled', message: `${e.step} never reached ${st.host}; cancelled by request` }),
          'cancelled', `aborted by request before ${st.host} began the copy`, ctx);
      }
      if (st.attempt >= ctx.config.maxAttempts) return giveUp(o, e.step, `${st.host} never received it after ${st.attempt} attempts`, ctx);
      return send(o, e.step, st.host, argsFor(e.step, o.state), ctx);
  }
}

function onQueryFailed(o: Out, step: Step, error: ErrorBody, ctx: WorkflowContext): Out {
  const st = o.state.steps[step]!;
  if (st.queries >= ctx.config.maxQueries) {
    return giveUp(o, step, `no answer from ${st.host} to ${st.queries} status queries (${error.message})`, ctx);
  }
  // Ask again on the next tick after a short pause.
  return out(putDeadline(o.state, step, ctx.now + ctx.config.retryBackoffMs), o.commands);
}

function askOrGiveUp(o: Out, step: Step, ctx: WorkflowContext): Out {
  const st = o.state.steps[step]!;
  if (st.queries >= ctx.config.maxQueries) return giveUp(o, step, `no outcome from ${st.host} after ${st.queries} status queries`, ctx);
  return query(o, step, ctx);
}

function giveUp(o: Out, step: Step, why: string, ctx: WorkflowContext): Out {
  const error: ErrorBody = { code: 'MessagingTimeout', message: `${step}: ${why}` };
  return afterFailure(markFailed(o, step, error), step, ctx);
}

/** The source accepted live_migration: the copy is under way, so an abort that came too early can now take effect. */
function onAcked(o: Out, step: Step, ctx: WorkflowContext): Out {
  const next = markAcked(o, step, ctx);
  if (step !== Step.MIGRATE) return next;
  const running = next.state.status === 'preparing' ? out(setStatus(next.state, 'running', ctx), next.commands) : next;
  return chaseAbort(running, ctx);
}

function putDeadline(s: WorkflowState, step: Step, deadline: number): WorkflowState {
  return { ...s, steps: { ...s.steps, [step]: { ...s.steps[step]!, deadline } } };
}

/** Fires what time makes due: outcome deadlines turn into status queries, retry times into new attempts. */
function onTick(o: Out, ctx: WorkflowContext): Out {
  let cur = o;
  for (const step of Object.keys(cur.state.steps) as Step[]) {
    if (cur.state.phase === 'done') break;
    const st = cur.state.steps[step]!;
    if ((st.status === 'sent' || st.status === 'acked') && st.deadline !== null && st.deadline <= ctx.now) {
      cur = askOrGiveUp(cur, step, ctx);
    } else if (st.status === 'failed' && st.retryAt !== null && st.retryAt <= ctx.now) {
      cur = send(cur, step, st.host, argsFor(step, cur.state), ctx);
    }
  }
  return cur;
}

/** A conductor taking over asks about every step in flight instead of guessing. */
function onRecover(o: Out, ctx: WorkflowContext): Out {
  if (o.state.phase === 'new') return apply(o, { type: 'start' }, ctx);
  let cur = o;
  for (const step of Object.keys(cur.state.steps) as Step[]) {
    const st = cur.state.steps[step]!;
    if (st.status === 'sent' || st.status === 'acked') cur = query(cur, step, ctx);
  }
  return cur;
}


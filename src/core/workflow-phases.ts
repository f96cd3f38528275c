/** What the migration does next after a step succeeds or fails, phase by phase. */
import type { HostDescriptor, Progress, WorkflowContext, WorkflowState } from './migration-state.js';
import { RETRIED_STEPS, Step } from './migration-steps.js';
import type { MigrationStatus } from './migration-status.js';
import { argsFor, hostFor } from './workflow-args.js';
import { isResolved, out, send, setStatus, putStep, type Out } from './workflow-steps.js';

export function sendStep(o: Out, step: Step, ctx: WorkflowContext): Out {
  return send(o, step, hostFor(step, o.state), argsFor(step, o.state), ctx);
}

export function onScheduled(o: Out, dest: HostDescriptor, ctx: WorkflowContext): Out {
  if (o.state.phase !== 'checks' && o.state.phase !== 'queued') return o;
  // Both checks go out together; on a re-schedule only the destination is asked again.
  let cur = sendStep(out({ ...o.state, dest, phase: 'checks', queue: null }, o.commands), Step.CHECK_DEST, ctx);
  if (!cur.state.steps[Step.CHECK_SOURCE]) cur = sendStep(cur, Step.CHECK_SOURCE, ctx);
  return cur;
}

export function afterDone(o: Out, step: Step, ctx: WorkflowContext): Out {
  const s = o.state;
  switch (step) {
    case Step.CHECK_DEST:
    case Step.CHECK_SOURCE:
      if (s.phase !== 'checks' || s.steps[Step.CHECK_DEST]?.status !== 'done' || s.steps[Step.CHECK_SOURCE]?.status !== 'done') return o;
      if (s.abortRequested) return finish(o, 'cancelled', 'aborted by request before the destination was prepared', ctx);
      return sendStep(out({ ...setStatus(s, 'preparing', ctx), phase: 'preparing' }, o.commands), Step.PRE, ctx);
    case Step.PRE:
      if (s.phase !== 'preparing') return o;
      if (s.abortRequested) return beginRollback(o, 'cancelled', 'aborted by request', ctx);
      return sendStep(out({ ...s, phase: 'migrating' }, o.commands), Step.MIGRATE, ctx);
    case Step.MIGRATE:
      return s.phase === 'migrating' ? enterPost(o, ctx) : o;
    case Step.POST_SOURCE:
    case Step.POST_DEST:
    case Step.ROLLBACK_SOURCE:
    case Step.ROLLBACK_DEST:
      return maybeEndPhase(o, ctx);
    default:
      return o;
  }
}

export function afterFailure(o: Out, step: Step, ctx: WorkflowContext): Out {
  const s = o.state;
  const st = s.steps[step]!;
  const why = `${step} failed on ${st.host}: ${st.error?.message ?? 'unknown error'}`;
  switch (step) {
    case Step.CHECK_DEST:
      if (s.phase !== 'checks') return o;
      // Like Nova's reschedule: a host the scheduler picked that fails or does not answer its check is
      // excluded and the next one tried. A host the operator named is the only one allowed.
      if (s.requestedHost === null) return reschedule(o, why, ctx);
      return finish(o, 'error', why, ctx);
    case Step.CHECK_SOURCE:
      // Also while re-queued after a destination failed: the source refusing ends it wherever it would go.
      return s.phase === 'checks' || s.phase === 'queued' ? finish(o, 'error', why, ctx) : o;
    case Step.PRE:
      return s.phase === 'preparing' ? beginRollback(o, s.abortRequested ? 'cancelled' : 'failed', why, ctx) : o;
    case Step.MIGRATE:
      if (s.phase !== 'migrating') return o;
      if (s.switchedOver) {
        const left = `guest on ${s.dest!.host} after post-copy started, but the copy failed: ${st.error?.message ?? ''}`;
        return finish(out({ ...s, leftovers: [...s.leftovers, left] }, o.commands), 'error', why, ctx);
      }
      return beginRollback(o, s.abortRequested || st.error?.code === 'MigrationCancelled' ? 'cancelled' : 'failed', why, ctx);
    case Step.ABORT:
      return retryAbort(o, ctx);
    default:
      return RETRIED_STEPS.includes(step) ? retryOrLeave(o, step, why, ctx) : o;
  }
}

/** The destination failed its checks: exclude it, release its claim and ask the scheduler for the next host. */
function reschedule(o: Out, why: string, ctx: WorkflowContext): Out {
  const s = o.state;
  const attempts = s.scheduleAttempts + 1;
  if (attempts > ctx.config.migrateMaxRetries) {
    return finish(o, 'error', `MaxRetriesExceeded: exceeded maximum number of retries (${ctx.config.migrateMaxRetries}). Last: ${why}`, ctx);
  }
  const excluded = [...s.excluded, s.dest!.host];
  return out({ ...s, excluded, scheduleAttempts: attempts, dest: null },
    [...o.commands, { type: 'release-claim' }, { type: 'schedule', requestedHost: null, excluded }]);
}

/** Post and rollback must happen: retry with backoff; after the last attempt, record what is left. */
function retryOrLeave(o: Out, step: Step, why: string, ctx: WorkflowContext): Out {
  const st = o.state.steps[step]!;
  if (st.attempt < ctx.config.maxAttempts) {
    const retryAt = ctx.now + ctx.config.retryBackoffMs * 2 ** (st.attempt - 1);
    return out(putStep(o.state, step, { ...st, retryAt }), o.commands);
  }
  return maybeEndPhase(out({ ...o.state, leftovers: [...o.state.leftovers, why] }, o.commands), ctx);
}

function maybeEndPhase(o: Out, ctx: WorkflowContext): Out {
  const s = o.state;
  if (s.phase === 'post') {
    if (!isResolved(s, Step.POST_SOURCE) || !isResolved(s, Step.POST_DEST)) return o;
    return s.leftovers.length === 0 ? finish(o, 'completed', null, ctx)
      : finish(o, 'error', `post-migration incomplete; the guest runs on ${s.dest!.host}`, ctx);
  }
  if (s.phase === 'rollback') {
    const steps = [Step.ROLLBACK_SOURCE, Step.ROLLBACK_DEST].filter((x) => s.steps[x] !== undefined);
    if (!steps.every((x) => isResolved(s, x))) return o;
    return finish(o, s.leftovers.length === 0 ? s.ending ?? 'failed' : 'error', null, ctx);
  }
  return o;
}

/** Rolls back both sides; the destination only if it was asked to prepare. */
export function beginRollback(o: Out, ending: 'failed' | 'cancelled', why: string, ctx: WorkflowContext): Out {
  const s = dropAbortRetry(o.state);
  let cur = out({ ...s, phase: 'rollback', ending, error: s.error ?? why }, o.commands);
  cur = sendStep(cur, Step.ROLLBACK_SOURCE, ctx);
  if (s.steps[Step.PRE] !== undefined && s.dest !== null) cur = sendStep(cur, Step.ROLLBACK_DEST, ctx);
  return cur;
}

/** The guest runs on the destination: flip the record if post-copy has not already, then both post steps. */
export function enterPost(o: Out, ctx: WorkflowContext): Out {
  const sw = o.state.switchedOver ? o : switchOver(o);
  const post = out({ ...setStatus(dropAbortRetry(sw.state), 'post-migrating', ctx), phase: 'post' }, sw.commands);
  return sendStep(sendStep(post, Step.POST_SOURCE, ctx), Step.POST_DEST, ctx);
}

/** The instance record follows the guest: it flips in the same transaction that records the switch-over. */
function switchOver(o: Out): Out {
  return out({ ...o.state, switchedOver: true }, [...o.commands,
    { type: 'instance', host: o.state.dest!.host, taskState: 'migrating' }, { type: 'release-claim' }]);
}

export function finish(o: Out, status: MigrationStatus, error: string | null, ctx: WorkflowContext): Out {
  const closed = abandonOpenSteps(o, status);
  const s = closed.state;
  const leftovers = status === 'error' && s.leftovers.length === 0 && !s.switchedOver && s.steps[Step.PRE] === undefined
    ? ['nothing: no host was changed'] : s.leftovers;
  const st = { ...setStatus(s, status, ctx), phase: 'done' as const, error: s.error ?? error, leftovers };
  const commands = [...closed.commands, ...(s.switchedOver ? [] : [{ type: 'release-claim' as const }]),
    { type: 'instance' as const, taskState: null }];
  return out(st, commands);
}

/**
 * A migration can end while a step it no longer needs is still out (the source check, when the destination's
 * failed): the journal records that attempt as failed, abandoned, so every sent step has an outcome. A late
 * answer changes nothing once the migration is terminal.
 */
function abandonOpenSteps(o: Out, status: MigrationStatus): Out {
  let state = o.state;
  const commands = [...o.commands];
  for (const step of Object.values(Step)) {
    const st = state.steps[step];
    if (!st || (st.status !== 'sent' && st.status !== 'acked')) continue;
    const error = { code: 'MigrationError' as const, message: `abandoned: the migration ended ${status} before this step reported an outcome` };
    state = putStep(state, step, { ...st, status: 'failed', deadline: null, retryAt: null, error });
    commands.push({ type: 'journal', step, host: st.host, attempt: st.attempt, status: 'failed', error });
  }
  return out(state, commands);
}

export function onProgress(o: Out, p: Progress, ctx: WorkflowContext): Out {
  const st = o.state.steps[Step.MIGRATE]!;
  let s: WorkflowState = putStep({ ...o.state, progress: p }, Step.MIGRATE, { ...st, deadline: ctx.now + ctx.config.migrateStallMs, queries: 0 });
  if (s.status === 'preparing') s = setStatus(s, 'running', ctx);
  if (p.postcopy && !s.switchedOver) {
    const sw = switchOver(out(s, o.commands));
    return out(setStatus(sw.state, 'running (post-copy)', ctx), sw.commands);
  }
  return chaseAbort(out(s, o.commands), ctx);
}

export function onAbort(o: Out, ctx: WorkflowContext): Out {
  const s = o.state;
  switch (s.phase) {
    case 'new':
    case 'queued':
      // Nova 2.65: a queued migration can be aborted; nothing was asked of any host.
      return finish(o, 'cancelled', 'aborted by request while queued', ctx);
    case 'checks':
      return finish(o, 'cancelled', 'aborted by request before the destination was prepared', ctx);
    case 'preparing':
      // pre_live_migration's outcome decides: done rolls back as cancelled, a failure ends cancelled too.
      return out({ ...s, abortRequested: true }, o.commands);
    case 'migrating':
      // Once post-copy runs the guest on the destination, there is no source to go back to.
      if (s.switchedOver) return o;
      return chaseAbort(out({ ...s, abortRequested: true }, o.commands), ctx);
    default:
      // A rollback already under way ends as it began; after switch-over the API refuses (InvalidMigrationState).
      return o;
  }
}

/**
 * Sends the abort to the source unless it already succeeded or is in flight. An abort can reach the source
 * before the copy it should stop has begun there (live_migration sent, not yet acked) and do nothing; so a
 * repeated abort, the ack of live_migration and each progress report while an abort is requested send it again.
 */
export function chaseAbort(o: Out, ctx: WorkflowContext): Out {
  const s = o.state;
  if (!s.abortRequested || s.switchedOver || s.phase !== 'migrating') return o;
  const ab = s.steps[Step.ABORT];
  if (ab && (ab.status !== 'failed' || ab.attempt >= ctx.config.maxAttempts)) return o;
  return sendStep(o, Step.ABORT, ctx);
}

/** An abort refused while the copy had been accepted may have come too early for it: ask again after a pause. */
function retryAbort(o: Out, ctx: WorkflowContext): Out {
  const s = o.state;
  const ab = s.steps[Step.ABORT]!;
  const copyAccepted = s.steps[Step.MIGRATE]?.status === 'acked';
  if (s.phase !== 'migrating' || s.switchedOver || !s.abortRequested || !copyAccepted || ab.attempt >= ctx.config.maxAttempts) return o;
  return out(putStep(s, Step.ABORT, { ...ab, retryAt: ctx.now + ctx.config.retryBackoffMs }), o.commands);
}

/** Once the copy has ended either way, an abort waiting for its retry has nothing left to stop. */
function dropAbortRetry(s: WorkflowState): WorkflowState {
  const ab = s.steps[Step.ABORT];
  return ab && ab.retryAt !== null ? putStep(s, Step.ABORT, { ...ab, retryAt: null }) : s;
}

export function onForceComplete(o: Out, ctx: WorkflowContext): Out {
  const s = o.state;
  if (s.phase !== 'migrating' || s.switchedOver || s.abortRequested) return o;
  return sendStep(o, Step.FORCE_COMPLETE, ctx);
}

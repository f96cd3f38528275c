/**
 * Proof of switch-over. A hypervisor fact that the guest runs on the destination outranks whatever the
 * conductor concluded from silence: the reconciler's `switched-over` event, a rollback the compute refused with
 * MigrationSwitchedOver, or a `done` of live_migration that arrives after the conductor gave up on it. The record
 * flips (in the transaction that records the proof), open rollbacks are superseded, and the post steps run.
 * From here the migration never rolls back.
 */
import { ErrorCode } from './errors.js';
import type { WorkflowContext, WorkflowState } from './migration-state.js';
import { Step } from './migration-steps.js';
import { enterPost } from './workflow-phases.js';
import { isResolved, markDone, markFailed, out, putStep, type Out } from './workflow-steps.js';

/**
 * Proof counts while the copy's outcome is still open to it: during the copy (not yet in post-copy, whose
 * destination runs the guest before the copy ends, so its running guest proves nothing) and during a rollback
 * that the copy may have outrun. Before live_migration was sent no guest can run on the destination; after the
 * migration is terminal the reconciler repairs the record instead. A rollback step that succeeded is a fact the
 * other way (the destination's guest is gone, or the source's guest was resumed because its copy had not
 * completed), so proof arriving after it is stale and going forward would clean up the only running copy.
 */
export function canProveSwitchOver(s: WorkflowState): boolean {
  if (s.dest === null || s.steps[Step.MIGRATE] === undefined) return false;
  if (s.steps[Step.ROLLBACK_SOURCE]?.status === 'done' || s.steps[Step.ROLLBACK_DEST]?.status === 'done') return false;
  return (s.phase === 'migrating' && !s.switchedOver) || s.phase === 'rollback';
}

/** Acts on proof that the guest runs on the destination; `evidence` says what showed it, for the journal. */
export function proveSwitchOver(o: Out, evidence: string, ctx: WorkflowContext): Out {
  const s = o.state;
  if (!canProveSwitchOver(s)) return o;
  let cur = o;
  const mig = s.steps[Step.MIGRATE]!;
  if (mig.status !== 'done') cur = markDone(cur, Step.MIGRATE, mig.result);
  const why = `superseded: the guest switched over to ${s.dest!.host} (${evidence})`;
  cur = supersede(supersede(cur, Step.ROLLBACK_SOURCE, why), Step.ROLLBACK_DEST, why);
  // What the rollback concluded and could not clean up no longer applies: the migration goes forward.
  return enterPost(out({ ...cur.state, ending: null, error: null, leftovers: [] }, cur.commands), ctx);
}

/**
 * A rollback step that has not finished stops: an attempt in flight is journaled failed, so its late outcome is
 * ignored, and a retry that was waiting is dropped. One whose attempts ran out stays as it is.
 */
function supersede(o: Out, step: Step, why: string): Out {
  const st = o.state.steps[step];
  if (st === undefined || isResolved(o.state, step)) return o;
  if (st.status === 'failed') return out(putStep(o.state, step, { ...st, retryAt: null }), o.commands);
  return markFailed(o, step, { code: ErrorCode.MigrationSwitchedOver, message: why });
}

/** True for an error that reports the switch-over as a fact rather than a failure. */
export function isSwitchOverError(code: string): boolean {
  return code === ErrorCode.MigrationSwitchedOver;
}

/**
 * Waiting for a concurrency slot, as a phase of the workflow. The `schedule` command asks the engine to
 * take a slot and claim a destination in its transaction; `must-wait` puts the migration in (or keeps it
 * in) phase `queued`, where it holds nothing and waits to be woken. Whatever wakes it, it asks again.
 */
import type { WorkflowContext, WorkflowEvent, WorkflowState } from './migration-state.js';
import { out, type Out } from './workflow-steps.js';

/** The command that asks for a slot and a destination. */
export function scheduleCommand(s: WorkflowState) {
  return { type: 'schedule' as const, requestedHost: s.requestedHost, excluded: s.excluded };
}

/**
 * Over a limit: wait in `queued`. A migration whose destination failed its checks comes here when no
 * other destination has room: it gives its slots back and queues again (its age keeps it near the front).
 */
export function onMustWait(o: Out, reason: string, retryAt: number | null, ctx: WorkflowContext): Out {
  const s = o.state;
  const rescheduling = s.phase === 'checks' && s.dest === null;
  if (s.phase !== 'queued' && !rescheduling) return o;
  const q = s.phase === 'queued' ? s.queue : null;
  if (q && q.reason === reason && q.retryAt === retryAt) return o;
  return out({ ...s, phase: 'queued', queue: { reason, since: q?.since ?? ctx.now, retryAt } }, o.commands);
}

/** Events that end or answer a slot request; every other event reaching a queued migration asks for a slot again. */
const ANSWERS: ReadonlySet<WorkflowEvent['type']> = new Set(['must-wait', 'scheduled', 'schedule-failed', 'abort']);

/**
 * A queued migration asks for a slot again on whatever event reaches it (the wake-up tick, a redelivered
 * start, a late answer to an earlier check). Asking is what makes a wake-up that raced with this event's
 * transaction harmless: the request is decided under the cluster lock, after the slot was freed.
 */
export function readmit(before: WorkflowState, e: WorkflowEvent, o: Out): Out {
  if (before.phase !== 'queued' || o.state.phase !== 'queued' || ANSWERS.has(e.type)) return o;
  if (o.commands.some((c) => c.type === 'schedule')) return o;
  return out(o.state, [...o.commands, scheduleCommand(o.state)]);
}

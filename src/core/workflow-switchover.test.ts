import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowCommand, WorkflowEvent } from './migration-state.js';
import { Step } from './migration-steps.js';
import { desc, NOW } from './testing/fixtures.js';
import { done, failed, fresh, journal, run, running, sends } from './testing/workflow-run.js';

const cfg = { migrateStallMs: 1_000, queryTimeoutMs: 100, maxQueries: 1, retryBackoffMs: 50 };
const flips = (cmds: WorkflowCommand[]) => cmds.filter((c) => c.type === 'instance' && c.host !== undefined);
const proof = (host = 'dst'): WorkflowEvent => ({ type: 'switched-over', host, evidence: `incoming guest runs on ${host}` });
const switchedOverError = (step: Step, attempt = 1): WorkflowEvent =>
  ({ type: 'failed', step, attempt, error: { code: 'MigrationSwitchedOver', message: 'the incoming guest runs' } });

/** live_migration given up after its one unanswered status query: the conductor is rolling back both sides. */
function givenUp() {
  const t = NOW + 2_000;
  const r = run(running(cfg).s, [{ type: 'tick' }, { type: 'query-failed', step: Step.MIGRATE, attempt: 1,
    error: { code: 'MessagingTimeout', message: 'no reply' } }], t, cfg);
  assert.equal(r.s.phase, 'rollback');
  assert.deepEqual(sends(r.commands), [`${Step.ROLLBACK_SOURCE}@src#1`, `${Step.ROLLBACK_DEST}@dst#1`]);
  return { ...r, t };
}

/** The workflow went forward after proof: record flipped once, claim released, both post steps sent. */
function assertWentForward(r: { s: ReturnType<typeof running>['s']; commands: WorkflowCommand[] }) {
  assert.equal(r.s.status, 'post-migrating');
  assert.equal(r.s.phase, 'post');
  assert.deepEqual(flips(r.commands), [{ type: 'instance', host: 'dst', taskState: 'migrating' }]);
  assert.ok(r.commands.some((c) => c.type === 'release-claim'));
  assert.deepEqual(sends(r.commands), [`${Step.POST_SOURCE}@src#1`, `${Step.POST_DEST}@dst#1`]);
  assert.equal(r.s.steps[Step.MIGRATE]!.status, 'done');
}

test('switched-over during the copy: the record flips, live_migration is done, post runs and the migration completes', () => {
  const r = run(running(cfg).s, [proof()], NOW, cfg);
  assertWentForward(r);
  assert.deepEqual(journal(r.commands), [`${Step.MIGRATE}#1 done`]);
  const late = run(r.s, [done(Step.MIGRATE)], NOW, cfg);
  assert.deepEqual(late.commands, [], "the source's own report of the same copy changes nothing");
  const end = run(late.s, [done(Step.POST_SOURCE), done(Step.POST_DEST)], NOW, cfg);
  assert.equal(end.s.status, 'completed');
  assert.ok(!end.commands.some((c) => c.type === 'release-claim'), 'the claim went at the flip');
});

test('switched-over after give-up: open rollbacks are superseded, their late outcomes ignored, and the migration completes', () => {
  const g = givenUp();
  const r = run(g.s, [proof()], g.t, cfg);
  assertWentForward(r);
  assert.deepEqual(journal(r.commands).sort(), [`${Step.MIGRATE}#1 done`, `${Step.ROLLBACK_DEST}#1 failed MigrationSwitchedOver`,
    `${Step.ROLLBACK_SOURCE}#1 failed MigrationSwitchedOver`].sort());
  for (const step of [Step.ROLLBACK_SOURCE, Step.ROLLBACK_DEST]) {
    const st = r.s.steps[step]!;
    assert.equal(st.retryAt, null);
    assert.match(st.error!.message, /^superseded: the guest switched over to dst \(incoming guest runs on dst\)/);
  }
  assert.equal(r.s.error, null, 'a migration going forward carries no rollback reason');
  const late = run(r.s, [done(Step.ROLLBACK_SOURCE), failed(Step.ROLLBACK_DEST), { type: 'tick' }], g.t + 60_000, cfg);
  assert.deepEqual(sends(late.commands), [], 'a superseded rollback is never sent again');
  assert.equal(late.s.phase, 'post');
  const end = run(late.s, [done(Step.POST_SOURCE), done(Step.POST_DEST)], g.t, cfg);
  assert.equal(end.s.status, 'completed');
  assert.deepEqual(end.s.leftovers, []);
});

test('a rollback refused with MigrationSwitchedOver is proof, from either side, even while the other waits for a retry', () => {
  for (const [refusing, other] of [[Step.ROLLBACK_DEST, Step.ROLLBACK_SOURCE], [Step.ROLLBACK_SOURCE, Step.ROLLBACK_DEST]] as const) {
    const g = givenUp();
    // The other side failed once and waits for its retry: the retry is dropped, its attempt keeps its own error.
    const waiting = run(g.s, [failed(other, 'MessagingTimeout')], g.t, cfg);
    assert.notEqual(waiting.s.steps[other]!.retryAt, null);
    const r = run(waiting.s, [switchedOverError(refusing)], g.t, cfg);
    assertWentForward(r);
    assert.deepEqual(journal(r.commands), [`${refusing}#1 failed MigrationSwitchedOver`, `${Step.MIGRATE}#1 done`]);
    assert.equal(r.s.steps[other]!.retryAt, null);
    assert.equal(r.s.steps[other]!.error!.code, 'MessagingTimeout');
    const later = run(r.s, [{ type: 'tick' }], g.t + 60_000, cfg);
    assert.deepEqual(sends(later.commands), []);
  }
});

test('a status answer that reports MigrationSwitchedOver is proof too', () => {
  const g = givenUp();
  const r = run(g.s, [{ type: 'status', step: Step.ROLLBACK_DEST, attempt: 1, state: 'failed',
    error: { code: 'MigrationSwitchedOver', message: 'incoming migration completed' } }], g.t, cfg);
  assertWentForward(r);
});

test('a done of live_migration after give-up is proof: the rollback stops and the migration completes', () => {
  const g = givenUp();
  const r = run(g.s, [done(Step.MIGRATE)], g.t, cfg);
  assertWentForward(r);
  assert.match(r.s.steps[Step.ROLLBACK_SOURCE]!.error!.message, /live_migration attempt 1 on src reported done after it was given up/);
  const statusToo = run(givenUp().s, [{ type: 'status', step: Step.MIGRATE, attempt: 1, state: 'done' }], g.t, cfg);
  assertWentForward(statusToo);
});

test('a copy that outran an abort completes: a late done wins over the cancelling rollback', () => {
  const t = NOW + 2_000;
  const cancelling = run(running(cfg).s, [{ type: 'abort' }, done(Step.ABORT), { type: 'tick' },
    { type: 'query-failed', step: Step.MIGRATE, attempt: 1, error: { code: 'MessagingTimeout', message: 'no reply' } }], t, cfg);
  assert.equal(cancelling.s.phase, 'rollback');
  assert.equal(cancelling.s.ending, 'cancelled');
  const r = run(cancelling.s, [done(Step.MIGRATE)], t, cfg);
  assertWentForward(r);
  assert.equal(r.s.ending, null);
  const end = run(r.s, [done(Step.POST_SOURCE), done(Step.POST_DEST)], t, cfg);
  assert.equal(end.s.status, 'completed');
});

test('proof is checked against the facts: the right host, a copy that was started, no rollback that succeeded, not yet terminal', () => {
  const wrongHost = run(running(cfg).s, [proof('elsewhere')], NOW, cfg);
  assert.deepEqual(wrongHost.commands, []);
  const preparing = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, done(Step.CHECK_DEST),
    done(Step.CHECK_SOURCE), proof(), switchedOverError(Step.PRE)], NOW, cfg);
  assert.equal(preparing.s.phase, 'rollback', 'pre_live_migration failing is not proof of anything');
  assert.ok(!preparing.commands.some((c) => c.type === 'instance' && c.host !== undefined));
  const preRollback = run(preparing.s, [proof(), switchedOverError(Step.ROLLBACK_DEST)], NOW, cfg);
  assert.ok(!preRollback.commands.some((c) => c.type === 'instance' && c.host !== undefined), 'no live_migration was ever sent');
  for (const rolledBack of [Step.ROLLBACK_SOURCE, Step.ROLLBACK_DEST]) {
    const half = run(givenUp().s, [done(rolledBack)], NOW, cfg);
    const stale = run(half.s, [proof(), done(Step.MIGRATE)], NOW, cfg);
    assert.equal(stale.s.phase, 'rollback', `${rolledBack} succeeded: the proof is stale`);
    assert.ok(!stale.commands.some((c) => c.type === 'instance' || (c.type === 'send' && c.step.startsWith('post'))));
  }
  const ended = run(givenUp().s, [done(Step.ROLLBACK_SOURCE), done(Step.ROLLBACK_DEST)], NOW, cfg);
  assert.equal(ended.s.status, 'failed');
  assert.deepEqual(run(ended.s, [proof(), done(Step.MIGRATE)], NOW, cfg).commands, [], 'terminal: the reconciler repairs the record');
});

test('during post-copy the running destination proves nothing yet; the copy outcome decides', () => {
  const pc = run(running(cfg).s, [{ type: 'progress', attempt: 1, progress: { memoryTotal: 10, memoryProcessed: 5, memoryRemaining: 5,
    diskTotal: 0, diskProcessed: 0, diskRemaining: 0, postcopy: true } }], NOW, cfg);
  assert.equal(pc.s.status, 'running (post-copy)');
  assert.deepEqual(run(pc.s, [proof()], NOW, cfg).commands, []);
  const completed = run(pc.s, [switchedOverError(Step.MIGRATE)], NOW, cfg);
  assert.equal(completed.s.status, 'post-migrating', 'the source saying its copy completed is that copy succeeding');
  assert.equal(flips(completed.commands).length, 0, 'the record flipped once, when post-copy began');
});

test('late outcomes of older attempts: a failure is ignored, a done of a re-scheduled check does not count for the new host', () => {
  // live_migration attempt 1 never arrived; attempt 2 runs. Attempt 1's failure says nothing about attempt 2.
  let r = run(running(cfg).s, [{ type: 'tick' }, { type: 'status', step: Step.MIGRATE, attempt: 1, state: 'unknown' }], NOW + 2_000, cfg);
  assert.deepEqual(sends(r.commands), [`${Step.MIGRATE}@src#2`]);
  r = run(r.s, [failed(Step.MIGRATE, 'MigrationError', 1)], NOW + 2_000, cfg);
  assert.equal(r.s.phase, 'migrating');
  assert.deepEqual(r.commands, []);
  const p = run(r.s, [{ type: 'progress', attempt: 1, progress: { memoryTotal: 10, memoryProcessed: 5, memoryRemaining: 5,
    diskTotal: 0, diskProcessed: 0, diskRemaining: 0 } }], NOW + 3_000, cfg);
  assert.equal(p.s.steps[Step.MIGRATE]!.deadline, NOW + 3_000 + cfg.migrateStallMs, 'progress of the joined copy counts');

  const c = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('d1') }, failed(Step.CHECK_DEST, 'MessagingTimeout'),
    { type: 'scheduled', dest: desc('d2') }, done(Step.CHECK_SOURCE), done(Step.CHECK_DEST, 1)], NOW, cfg);
  assert.equal(c.s.steps[Step.CHECK_DEST]!.status, 'sent', "d1's answer is not d2's");
  assert.equal(c.s.phase, 'checks');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowEvent } from './migration-state.js';
import { Step } from './migration-steps.js';
import { desc, NOW } from './testing/fixtures.js';
import { done, failed, fresh, migrateSent, run, running, sends } from './testing/workflow-run.js';

const cfg = { retryBackoffMs: 100, maxAttempts: 3 };
const acked: WorkflowEvent = { type: 'acked', step: Step.MIGRATE, attempt: 1 };
const progress = (postcopy = false): WorkflowEvent => ({ type: 'progress', attempt: 1, progress: { memoryTotal: 10, memoryProcessed: 5,
  memoryRemaining: 5, diskTotal: 0, diskProcessed: 0, diskRemaining: 0, ...(postcopy ? { postcopy } : {}) } });
const noMigration = (attempt: number): WorkflowEvent => ({ type: 'failed', step: Step.ABORT, attempt,
  error: { code: 'InvalidMigrationState', message: 'no migration of i is running on src' } });

/** The copy stops, both sides roll back, and the migration ends cancelled with the claim released. */
function assertCancels(s: ReturnType<typeof running>['s']) {
  const r = run(s, [failed(Step.MIGRATE, 'MigrationCancelled'), done(Step.ROLLBACK_SOURCE), done(Step.ROLLBACK_DEST)], NOW, cfg);
  assert.equal(r.s.status, 'cancelled');
  assert.ok(r.commands.some((c) => c.type === 'release-claim'));
  assert.ok(!r.commands.some((c) => c.type === 'instance' && c.host !== undefined), 'the record never left the source');
}

test('an abort that reached the source before the copy began is sent again when live_migration is acked', () => {
  let r = run(migrateSent(cfg).s, [{ type: 'abort' }], NOW, cfg);
  assert.deepEqual(sends(r.commands), [`${Step.ABORT}@src#1`]);
  assert.equal(r.s.status, 'preparing', 'the copy was sent, not yet acknowledged');
  r = run(r.s, [noMigration(1)], NOW, cfg);
  assert.deepEqual(sends(r.commands), [], 'no copy is known to run yet, so nothing to retry');
  r = run(r.s, [acked], NOW, cfg);
  assert.deepEqual(sends(r.commands), [`${Step.ABORT}@src#2`]);
  assert.equal(r.s.status, 'running');
  r = run(r.s, [done(Step.ABORT, 2)], NOW, cfg);
  assertCancels(r.s);
});

test('an abort refused after the ack is retried after a pause; progress while it waits sends it at once', () => {
  let r = run(running(cfg).s, [{ type: 'abort' }, noMigration(1)], NOW, cfg);
  assert.equal(r.s.steps[Step.ABORT]!.retryAt, NOW + cfg.retryBackoffMs);
  r = run(r.s, [{ type: 'tick' }], NOW + cfg.retryBackoffMs, cfg);
  assert.deepEqual(sends(r.commands), [`${Step.ABORT}@src#2`]);
  r = run(r.s, [noMigration(2), progress()], NOW + cfg.retryBackoffMs, cfg);
  assert.deepEqual(sends(r.commands), [`${Step.ABORT}@src#3`]);
  r = run(r.s, [noMigration(3), progress()], NOW + cfg.retryBackoffMs, cfg);
  assert.deepEqual(sends(r.commands), [], `bounded by max attempts (${cfg.maxAttempts})`);
});

test('a repeated abort re-sends the abort while it has not succeeded, and only then', () => {
  let r = run(running(cfg).s, [{ type: 'abort' }, { type: 'abort' }], NOW, cfg);
  assert.deepEqual(sends(r.commands), [`${Step.ABORT}@src#1`], 'one in flight is enough');
  r = run(r.s, [{ type: 'timeout', step: Step.ABORT, attempt: 1 }, { type: 'status', step: Step.ABORT, attempt: 1, state: 'unknown' }], NOW, cfg);
  assert.deepEqual(sends(r.commands), [`${Step.ABORT}@src#2`], 'an abort that never arrived is sent again');
  r = run(r.s, [done(Step.ABORT, 2), { type: 'abort' }, progress()], NOW, cfg);
  assert.deepEqual(sends(r.commands), [], 'an abort that succeeded is not repeated');
  assertCancels(r.s);
});

test('a live_migration that never reached the source while an abort waits is not started: cancelled', () => {
  let r = run(migrateSent(cfg).s, [{ type: 'abort' }, noMigration(1), { type: 'timeout', step: Step.MIGRATE, attempt: 1 },
    { type: 'status', step: Step.MIGRATE, attempt: 1, state: 'unknown' }], NOW, cfg);
  assert.ok(!sends(r.commands).includes(`${Step.MIGRATE}@src#2`), 'the copy is not sent again');
  assert.deepEqual(sends(r.commands).slice(-2), [`${Step.ROLLBACK_SOURCE}@src#1`, `${Step.ROLLBACK_DEST}@dst#1`]);
  r = run(r.s, [done(Step.ROLLBACK_SOURCE), done(Step.ROLLBACK_DEST)], NOW, cfg);
  assert.equal(r.s.status, 'cancelled');
});

test('a live_migration failing after an abort request rolls back to cancelled, whatever its error', () => {
  const r = run(running(cfg).s, [{ type: 'abort' }, failed(Step.MIGRATE, 'MigrationError'), done(Step.ROLLBACK_SOURCE),
    done(Step.ROLLBACK_DEST)], NOW, cfg);
  assert.equal(r.s.status, 'cancelled');
});

test('abort in every phase before switch-over ends cancelled', () => {
  const queued = run(fresh(), [{ type: 'start' }, { type: 'abort' }], NOW, cfg);
  assert.equal(queued.s.status, 'cancelled');
  const checks = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, { type: 'abort' }], NOW, cfg);
  assert.equal(checks.s.status, 'cancelled');
  const pre = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, done(Step.CHECK_DEST), done(Step.CHECK_SOURCE),
    { type: 'abort' }, done(Step.PRE), done(Step.ROLLBACK_SOURCE), done(Step.ROLLBACK_DEST)], NOW, cfg);
  assert.equal(pre.s.status, 'cancelled');
  assert.ok(!pre.s.steps[Step.MIGRATE], 'the copy was never sent');
});

test('after switch-over an abort changes nothing', () => {
  const postcopy = run(running(cfg).s, [progress(true), { type: 'abort' }], NOW, cfg);
  assert.equal(postcopy.s.status, 'running (post-copy)');
  assert.ok(!sends(postcopy.commands).some((x) => x.startsWith(Step.ABORT)));
  const post = run(running(cfg).s, [done(Step.MIGRATE), { type: 'abort' }, done(Step.POST_SOURCE), done(Step.POST_DEST)], NOW, cfg);
  assert.equal(post.s.status, 'completed');
});

test('an abort retry still waiting when the copy completes is dropped', () => {
  let r = run(running(cfg).s, [{ type: 'abort' }, noMigration(1)], NOW, cfg);
  assert.notEqual(r.s.steps[Step.ABORT]!.retryAt, null);
  r = run(r.s, [done(Step.MIGRATE)], NOW, cfg);
  assert.equal(r.s.status, 'post-migrating');
  assert.equal(r.s.steps[Step.ABORT]!.retryAt, null);
  r = run(r.s, [{ type: 'tick' }], NOW + 10_000, cfg);
  assert.ok(!sends(r.commands).some((x) => x.startsWith(Step.ABORT)));
});

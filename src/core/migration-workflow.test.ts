import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Step } from './migration-steps.js';
import { desc, NOW } from './testing/fixtures.js';
import { done, failed, fresh, run, running, sends } from './testing/workflow-run.js';
import { nextWakeup } from './workflow-steps.js';

test('the spec flow: checks together, then pre, then live_migration, then post on both sides', () => {
  let r = run(fresh(), [{ type: 'start' }]);
  assert.deepEqual(r.commands, [{ type: 'schedule', requestedHost: null, excluded: [] }]);
  assert.equal(r.s.status, 'queued');
  r = run(r.s, [{ type: 'scheduled', dest: desc('dst') }]);
  assert.deepEqual(sends(r.commands), [`${Step.CHECK_DEST}@dst#1`, `${Step.CHECK_SOURCE}@src#1`], 'both checks in one transition');
  r = run(r.s, [done(Step.CHECK_DEST)]);
  assert.deepEqual(sends(r.commands), [], 'pre waits for both checks');
  r = run(r.s, [done(Step.CHECK_SOURCE)]);
  assert.deepEqual(sends(r.commands), [`${Step.PRE}@dst#1`]);
  assert.equal(r.s.status, 'preparing');
  r = run(r.s, [done(Step.PRE, 1, { uri: 'fake://dst/i' })]);
  const migrate = r.commands.find((c) => c.type === 'send');
  assert.ok(migrate && migrate.type === 'send' && migrate.step === Step.MIGRATE && migrate.kind === 'lcall' && migrate.host === 'src');
  assert.deepEqual(migrate.args['migrateData'], { uri: 'fake://dst/i' }, 'the destination prepared before live_migration starts');
  r = run(r.s, [{ type: 'acked', step: Step.MIGRATE, attempt: 1 }]);
  assert.equal(r.s.status, 'running');
  r = run(r.s, [done(Step.MIGRATE)]);
  assert.deepEqual(r.commands.filter((c) => c.type === 'instance'), [{ type: 'instance', host: 'dst', taskState: 'migrating' }],
    'the instance flips at switch-over');
  assert.deepEqual(sends(r.commands), [`${Step.POST_SOURCE}@src#1`, `${Step.POST_DEST}@dst#1`]);
  assert.equal(r.s.status, 'post-migrating');
  r = run(r.s, [done(Step.POST_SOURCE), done(Step.POST_DEST)]);
  assert.equal(r.s.status, 'completed');
  assert.deepEqual(r.s.history.map((h) => h.status), ['accepted', 'queued', 'preparing', 'running', 'post-migrating', 'completed']);
  assert.equal(nextWakeup(r.s), null);
});

test('a destination that fails its check is excluded, its claim released, and the next host tried', () => {
  const r = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('d1') }, done(Step.CHECK_SOURCE),
    failed(Step.CHECK_DEST, 'InvalidCPUInfo')]);
  assert.deepEqual(r.commands.slice(-2), [{ type: 'release-claim' }, { type: 'schedule', requestedHost: null, excluded: ['d1'] }]);
  const r2 = run(r.s, [{ type: 'scheduled', dest: desc('d2') }]);
  assert.deepEqual(sends(r2.commands), [`${Step.CHECK_DEST}@d2#2`], 'only the destination is asked again');
  const r3 = run(r2.s, [done(Step.CHECK_DEST, 2)]);
  assert.deepEqual(sends(r3.commands), [`${Step.PRE}@d2#1`]);
});

test('MaxRetriesExceeded after migrate_max_retries re-schedules', () => {
  let r = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('d1') }, done(Step.CHECK_SOURCE)], NOW, { migrateMaxRetries: 2 });
  for (const [i, h] of ['d1', 'd2', 'd3'].entries()) {
    if (i > 0) r = run(r.s, [{ type: 'scheduled', dest: desc(h) }], NOW, { migrateMaxRetries: 2 });
    r = run(r.s, [failed(Step.CHECK_DEST, 'MigrationPreCheckError', i + 1)], NOW, { migrateMaxRetries: 2 });
  }
  assert.equal(r.s.status, 'error');
  assert.match(r.s.error!, /MaxRetriesExceeded/);
  assert.ok(r.commands.some((c) => c.type === 'release-claim'));
  assert.deepEqual(r.s.excluded, ['d1', 'd2']);
});

test('a requested destination that fails its check ends the migration without trying others', () => {
  const r = run(fresh('dst'), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, failed(Step.CHECK_DEST, 'InvalidCPUInfo')]);
  assert.equal(r.s.status, 'error');
  assert.ok(!r.commands.some((c) => c.type === 'schedule' && c.excluded.length > 0));
  assert.deepEqual(r.s.leftovers, ['nothing: no host was changed']);
});

test('a migration that ends while a step is still out journals that attempt as failed, abandoned (chaos seed 1)', () => {
  const r = run(fresh('dst'), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, failed(Step.CHECK_DEST, 'InvalidCPUInfo')]);
  assert.equal(r.s.status, 'error');
  assert.deepEqual(r.commands.filter((c) => c.type === 'journal' && c.step === Step.CHECK_SOURCE).map((c) => c.type === 'journal' && [c.host, c.attempt, c.status]),
    [['src', 1, 'failed']], 'the source check, never answered, gets an outcome');
  assert.match(r.s.steps[Step.CHECK_SOURCE]!.error!.message, /abandoned: the migration ended error/);
  assert.equal(nextWakeup(r.s), null, 'nothing left to wait for');
  const late = run(r.s, [done(Step.CHECK_SOURCE)]);
  assert.equal(late.s.status, 'error', 'a late answer changes nothing');
});

test('pre_live_migration failing rolls back both sides, then ends failed', () => {
  const r = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, done(Step.CHECK_DEST), done(Step.CHECK_SOURCE),
    failed(Step.PRE)]);
  assert.deepEqual(sends(r.commands).slice(-2), [`${Step.ROLLBACK_SOURCE}@src#1`, `${Step.ROLLBACK_DEST}@dst#1`]);
  const end = run(r.s, [done(Step.ROLLBACK_DEST), done(Step.ROLLBACK_SOURCE)]);
  assert.equal(end.s.status, 'failed');
  assert.match(end.s.error!, /pre_live_migration failed on dst/);
  assert.deepEqual(end.commands.filter((c) => c.type !== 'journal'), [{ type: 'release-claim' }, { type: 'instance', taskState: null }]);
});

test('a check on a named host that times out is asked about, and one still running after its deadline fails the migration', () => {
  let r = run(fresh('dst'), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, done(Step.CHECK_SOURCE),
    { type: 'timeout', step: Step.CHECK_DEST, attempt: 1 }]);
  assert.deepEqual(r.commands.filter((c) => c.type === 'query').map((c) => c.step), [Step.CHECK_DEST]);
  r = run(r.s, [{ type: 'status', step: Step.CHECK_DEST, attempt: 1, state: 'running' }]);
  assert.equal(r.s.status, 'error');
  assert.match(r.s.error!, /still running on dst/);
  assert.ok(!sends(r.commands).some((s) => s.startsWith(Step.PRE)), 'nothing was prepared');
});

test('a request the compute never received is sent again; a done answer counts as done', () => {
  let r = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }]);
  const later = NOW + 200_000;
  r = run(r.s, [{ type: 'tick' }], later);
  assert.equal(r.commands.filter((c) => c.type === 'query').length, 2, 'both overdue checks are queried');
  r = run(r.s, [{ type: 'status', step: Step.CHECK_DEST, attempt: 1, state: 'unknown' },
    { type: 'status', step: Step.CHECK_SOURCE, attempt: 1, state: 'done', result: {} }], later);
  assert.deepEqual(sends(r.commands), [`${Step.CHECK_DEST}@dst#2`]);
  const closed = r.commands.filter((c) => c.type === 'journal' && c.step === Step.CHECK_DEST);
  assert.deepEqual(closed.map((c) => c.type === 'journal' && [c.attempt, c.status, c.error?.message]),
    [[1, 'failed', 'superseded: no outcome from dst; sent again as attempt 2']], 'the replaced attempt gets its outcome (chaos seed 2)');
});

test('unanswered status queries give up after max_queries', () => {
  let r = running();
  const q = (n: number) => ({ type: 'query-failed' as const, step: Step.MIGRATE, attempt: 1, error: { code: 'MessagingTimeout', message: `no reply ${n}` } });
  let t = NOW + 1_000;
  r = run(r.s, [{ type: 'timeout', step: Step.MIGRATE, attempt: 1 }, q(1)], t);
  for (const n of [2, 3]) {
    t += 10_000;
    r = run(r.s, [{ type: 'tick' }], t);
    assert.equal(r.commands.filter((c) => c.type === 'query').length, 1, `query ${n} sent after the pause`);
    r = run(r.s, [q(n)], t);
  }
  assert.equal(r.s.steps[Step.MIGRATE]!.status, 'failed');
  assert.equal(r.s.phase, 'rollback', 'not switched over, so the conductor rolls back');
});

test('live_migration failing rolls back both sides; abort while running ends cancelled', () => {
  const f = run(running().s, [failed(Step.MIGRATE)]);
  assert.deepEqual(sends(f.commands), [`${Step.ROLLBACK_SOURCE}@src#1`, `${Step.ROLLBACK_DEST}@dst#1`]);
  let a = run(running().s, [{ type: 'abort' }]);
  assert.deepEqual(sends(a.commands), [`${Step.ABORT}@src#1`]);
  a = run(a.s, [done(Step.ABORT), failed(Step.MIGRATE, 'MigrationCancelled'), done(Step.ROLLBACK_SOURCE), done(Step.ROLLBACK_DEST)]);
  assert.equal(a.s.status, 'cancelled');
});

test('abort before the destination is prepared ends cancelled at once and releases the claim', () => {
  const r = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, { type: 'abort' }]);
  assert.equal(r.s.status, 'cancelled');
  assert.ok(r.commands.some((c) => c.type === 'release-claim'));
  const late = run(r.s, [done(Step.CHECK_DEST), done(Step.CHECK_SOURCE)]);
  assert.deepEqual(late.commands, [], 'late replies change nothing');
});

test('a post step that fails is retried after a backoff and the migration completes; the instance stays on the destination', () => {
  let r = run(running().s, [done(Step.MIGRATE), done(Step.POST_SOURCE), failed(Step.POST_DEST)], NOW, { retryBackoffMs: 1000 });
  assert.equal(r.s.status, 'post-migrating');
  r = run(r.s, [{ type: 'tick' }], NOW + 500, { retryBackoffMs: 1000 });
  assert.deepEqual(sends(r.commands), [], 'not before the backoff');
  r = run(r.s, [{ type: 'tick' }], NOW + 1000, { retryBackoffMs: 1000 });
  assert.deepEqual(sends(r.commands), [`${Step.POST_DEST}@dst#2`]);
  r = run(r.s, [done(Step.POST_DEST, 2)]);
  assert.equal(r.s.status, 'completed');
  assert.ok(!r.commands.some((c) => c.type === 'instance' && c.host !== undefined), 'no second flip');
});

test('a post step failing every attempt ends in error that says what is left, instance on the destination', () => {
  let r = run(running().s, [done(Step.MIGRATE), done(Step.POST_SOURCE)], NOW, { maxAttempts: 2, retryBackoffMs: 1 });
  r = run(r.s, [failed(Step.POST_DEST, 'MigrationError', 1)], NOW + 10, { maxAttempts: 2, retryBackoffMs: 1 });
  r = run(r.s, [{ type: 'tick' }, failed(Step.POST_DEST, 'MigrationError', 2)], NOW + 20, { maxAttempts: 2, retryBackoffMs: 1 });
  assert.equal(r.s.status, 'error');
  assert.match(r.s.leftovers.join(), /post_live_migration_at_destination failed on dst/);
  assert.ok(!r.commands.some((c) => c.type === 'release-claim'), 'the claim went with the switch-over');
});

test('post-copy switches the instance over when it starts', () => {
  const r = run(running().s, [{ type: 'progress', attempt: 1, progress: { memoryTotal: 10, memoryProcessed: 5, memoryRemaining: 5,
    diskTotal: 0, diskProcessed: 0, diskRemaining: 0, postcopy: true } }]);
  assert.equal(r.s.status, 'running (post-copy)');
  assert.ok(r.commands.some((c) => c.type === 'instance' && c.host === 'dst'));
  const fail = run(r.s, [failed(Step.MIGRATE)]);
  assert.equal(fail.s.status, 'error', 'no rollback once the guest runs on the destination');
});

test('duplicates and stale events are ignored', () => {
  const r = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, done(Step.CHECK_DEST), done(Step.CHECK_SOURCE)]);
  const again = run(r.s, [done(Step.CHECK_DEST), done(Step.CHECK_SOURCE), failed(Step.CHECK_DEST)]);
  assert.deepEqual(again.commands, []);
  assert.equal(again.s, r.s);
  const m = running();
  const stale = run(m.s, [{ type: 'acked', step: Step.MIGRATE, attempt: 1 }, failed(Step.PRE)]);
  assert.deepEqual(stale.commands, []);
});

test('a conductor taking over asks about every step in flight', () => {
  const r = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('dst') }, { type: 'recover' }]);
  assert.deepEqual(r.commands.filter((c) => c.type === 'query').map((c) => c.step).sort(), [Step.CHECK_DEST, Step.CHECK_SOURCE]);
  const n = run(fresh(), [{ type: 'recover' }]);
  assert.deepEqual(n.commands, [{ type: 'schedule', requestedHost: null, excluded: [] }], 'a never-started migration is started');
});

test('a scheduler-picked destination whose check times out or fails with any error is skipped for the next host', () => {
  const cfg = { checkTimeoutMs: 100, queryTimeoutMs: 50 };
  let r = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('d1') }, done(Step.CHECK_SOURCE),
    { type: 'timeout', step: Step.CHECK_DEST, attempt: 1 }, { type: 'status', step: Step.CHECK_DEST, attempt: 1, state: 'running' }], NOW, cfg);
  assert.equal(r.s.steps[Step.CHECK_DEST]!.error!.code, 'MessagingTimeout');
  assert.deepEqual(r.commands.slice(-2), [{ type: 'release-claim' }, { type: 'schedule', requestedHost: null, excluded: ['d1'] }]);
  // The next host's check is asked about and never answers: its status queries run out, and it is skipped too.
  r = run(r.s, [{ type: 'scheduled', dest: desc('d2') }, { type: 'timeout', step: Step.CHECK_DEST, attempt: 2 }], NOW, cfg);
  r = run(r.s, [{ type: 'query-failed', step: Step.CHECK_DEST, attempt: 2, error: { code: 'MessagingTimeout', message: 'no reply' } }], NOW, cfg);
  for (let i = 0; i < 3 && !r.commands.some((c) => c.type === 'schedule'); i++) {
    r = run(r.s, [{ type: 'tick' }, { type: 'query-failed', step: Step.CHECK_DEST, attempt: 2, error: { code: 'MessagingTimeout', message: 'no reply' } }],
      NOW + 10_000 * (i + 1), cfg);
  }
  assert.deepEqual(r.commands.slice(-1), [{ type: 'schedule', requestedHost: null, excluded: ['d1', 'd2'] }]);
  r = run(r.s, [{ type: 'scheduled', dest: desc('d3') }, failed(Step.CHECK_DEST, 'MigrationError', 3)], NOW, cfg);
  assert.deepEqual(r.commands.slice(-1), [{ type: 'schedule', requestedHost: null, excluded: ['d1', 'd2', 'd3'] }]);
  r = run(r.s, [{ type: 'scheduled', dest: desc('d4') }, done(Step.CHECK_DEST, 4)], NOW, cfg);
  assert.deepEqual(sends(r.commands), [`${Step.CHECK_DEST}@d4#4`, `${Step.PRE}@d4#1`]);
});

test('a scheduling verdict ends the migration with an error that names its code', () => {
  const r = run(fresh(), [{ type: 'start' }, { type: 'schedule-failed',
    error: { code: 'ComputeServiceUnavailable', message: 'Compute service of src is unavailable at this time.' } }]);
  assert.equal(r.s.status, 'error');
  assert.match(r.s.error!, /^ComputeServiceUnavailable: Compute service of src/);
  assert.deepEqual(sends(r.commands), [], 'nothing was asked of any compute');
  assert.deepEqual(r.s.leftovers, ['nothing: no host was changed']);
});

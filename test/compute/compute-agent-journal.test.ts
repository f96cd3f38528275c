/**
 * Durable acceptance at the compute: an acknowledged step survives the agent's death, is resumed by the
 * next agent and reported; get_step_status answers from the journal and never says `unknown` for a step
 * the compute acknowledged; redeliveries are deduped by (migration, step, attempt); an abort that arrives
 * before the copy is not lost; the journal is pruned when the conductor forgets a migration, and by TTL.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Step } from '../../src/core/migration-steps.js';
import type { Clock } from '../../src/core/ports.js';
import { openSqliteStepJournal } from '../../src/compute/sqlite-step-journal.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { migrateArgs, SPEC, startRig, stepArgs, type Rig } from './agent-rig.js';

let rig: Rig;
beforeEach(async () => { rig = await startRig(); });
afterEach(async () => rig.close());

test('an acknowledged live_migration survives the agent dying mid-copy: the next agent resumes it, reports it, and never answers unknown', async () => {
  const first = await rig.startA();
  await first.driver.spawn(SPEC);
  const { uri } = await rig.b.prepareIncoming(SPEC, 1);
  assert.equal((await rig.call<{ state: string }>(Step.CHECK_SOURCE, stepArgs(1))).state, 'running');
  first.driver.faults.hang('migrate.pass'); // the copy is in flight when the agent dies
  await rig.lcall(Step.MIGRATE, migrateArgs(1, uri));
  assert.equal((await rig.status(1, Step.MIGRATE, 1)).state, 'running');
  rig.kill(first.agent);

  const second = await rig.startA();
  const result = await rig.waitResult(1, Step.MIGRATE, 1);
  assert.equal(result.ok, true, JSON.stringify(result.error));
  const status = await rig.status(1, Step.MIGRATE, 1);
  assert.equal(status.state, 'done');
  assert.equal(typeof status.result?.['downtimeMs'], 'number');
  assert.equal((await rig.status(1, Step.CHECK_SOURCE, 1)).state, 'done', 'a call the dead agent finished is still known');
  assert.equal(second.journal.get({ migrationId: 1, step: Step.MIGRATE, attempt: 1 })?.executions, 2, 'started, then resumed once');
  assert.deepEqual(await second.driver.listGuests(), [{ uuid: SPEC.uuid, state: 'postmigrate' }]);
  assert.deepEqual(await rig.b.listGuests(), [{ uuid: SPEC.uuid, state: 'running' }], 'one running copy, on the destination');
  assert.equal(second.agent.stepsInFlight, 0);
});

test('a post step acknowledged before the agent died is resumed and its outcome reported', async () => {
  const first = await rig.startA();
  await first.driver.spawn(SPEC);
  const { uri } = await rig.b.prepareIncoming(SPEC, 2);
  await rig.lcall(Step.MIGRATE, migrateArgs(2, uri));
  assert.equal((await rig.waitResult(2, Step.MIGRATE, 1)).ok, true);
  first.driver.faults.hang('cleanupSource');
  await rig.lcall(Step.POST_SOURCE, stepArgs(2));
  rig.kill(first.agent);

  const second = await rig.startA();
  assert.equal((await rig.waitResult(2, Step.POST_SOURCE, 1)).ok, true);
  assert.equal((await rig.status(2, Step.POST_SOURCE, 1)).state, 'done');
  assert.deepEqual(await second.driver.listGuests(), [], 'the source copy is removed');
  // The conductor re-sends after its deadline: the done step is re-reported, not run again.
  second.driver.faults.fail('cleanupSource', { message: 'ran twice' });
  await rig.lcall(Step.POST_SOURCE, stepArgs(2));
  await waitFor('the re-report', async () => rig.results(2).filter((r) => r.step === Step.POST_SOURCE).length >= 2);
  assert.ok(rig.results(2).filter((r) => r.step === Step.POST_SOURCE).every((r) => r.ok));
});

test('dedupe by (migration, step, attempt): join, re-report, run again only after a failure', async () => {
  const { driver, journal } = await rig.startA();
  await driver.spawn(SPEC);
  const entry = (migrationId: number, attempt: number) => journal.get({ migrationId, step: Step.ROLLBACK_SOURCE, attempt });
  const reports = (migrationId: number, attempt: number) => rig.results(migrationId).filter((r) => r.step === Step.ROLLBACK_SOURCE && r.attempt === attempt);

  // The same key twice, and a newer attempt, while the work runs: one execution, every attempt reported.
  const release = driver.faults.hang('rollbackSource');
  await rig.lcall(Step.ROLLBACK_SOURCE, stepArgs(3, 1));
  await rig.lcall(Step.ROLLBACK_SOURCE, stepArgs(3, 1));
  await rig.lcall(Step.ROLLBACK_SOURCE, stepArgs(3, 2));
  assert.deepEqual(await rig.status(3, Step.ROLLBACK_SOURCE, 2), { state: 'running', attempt: 2 });
  release();
  await rig.waitResult(3, Step.ROLLBACK_SOURCE, 2);
  await rig.waitResult(3, Step.ROLLBACK_SOURCE, 1);
  assert.equal(reports(3, 1).length, 1, 'the duplicate joined without a second report');
  assert.deepEqual([entry(3, 1)?.executions, entry(3, 2)?.executions], [1, 0], 'ran once in effect');

  // A newer attempt after success re-reports it; running the work again would fail here.
  driver.faults.fail('rollbackSource', { message: 'ran twice' });
  await rig.lcall(Step.ROLLBACK_SOURCE, stepArgs(3, 3));
  assert.equal((await rig.waitResult(3, Step.ROLLBACK_SOURCE, 3)).ok, true);
  assert.equal(entry(3, 3)?.executions, 0);

  // A failed attempt: the conductor's retry (a newer attempt) runs the work again.
  await rig.lcall(Step.ROLLBACK_SOURCE, stepArgs(4, 1)); // consumes the injected failure
  assert.equal((await rig.waitResult(4, Step.ROLLBACK_SOURCE, 1)).ok, false);
  assert.equal((await rig.status(4, Step.ROLLBACK_SOURCE, 1)).state, 'failed');
  assert.deepEqual(await rig.status(4, Step.ROLLBACK_SOURCE, 2), { state: 'unknown' }, 'attempt 2 was never received');
  await rig.lcall(Step.ROLLBACK_SOURCE, stepArgs(4, 2));
  assert.equal((await rig.waitResult(4, Step.ROLLBACK_SOURCE, 2)).ok, true);
  assert.equal(entry(4, 2)?.executions, 1);
  assert.equal((await rig.status(4, Step.ROLLBACK_SOURCE, 2)).state, 'done');
});

test('calls are journaled and deduped too: a repeated check answers from the journal', async () => {
  const { driver, journal } = await rig.startA();
  await driver.spawn(SPEC);
  const release = driver.faults.hang('checkSource');
  const calls = [rig.call(Step.CHECK_SOURCE, stepArgs(5)), rig.call(Step.CHECK_SOURCE, stepArgs(5))];
  await waitFor('the check to be journaled', async () => journal.get({ migrationId: 5, step: Step.CHECK_SOURCE, attempt: 1 }));
  release();
  const [r1, r2] = await Promise.all(calls);
  assert.deepEqual(r1, r2);
  assert.equal(journal.get({ migrationId: 5, step: Step.CHECK_SOURCE, attempt: 1 })?.executions, 1);
});

test('an abort that reaches the source before the copy starts is not lost: live_migration refuses, even after a restart', async () => {
  const first = await rig.startA();
  await first.driver.spawn(SPEC);
  const { uri } = await rig.b.prepareIncoming(SPEC, 6);
  assert.deepEqual(await rig.call(Step.ABORT, stepArgs(6)), { copy: 'not-started' });
  await rig.lcall(Step.MIGRATE, migrateArgs(6, uri));
  const r = await rig.waitResult(6, Step.MIGRATE, 1);
  assert.equal(r.ok, false);
  assert.equal(r.error?.code, 'MigrationCancelled');
  assert.deepEqual(await first.driver.listGuests(), [{ uuid: SPEC.uuid, state: 'running' }], 'the copy never started');
  rig.kill(first.agent);
  await rig.startA();
  await rig.lcall(Step.MIGRATE, migrateArgs(6, uri, 2));
  assert.equal((await rig.waitResult(6, Step.MIGRATE, 2)).error?.code, 'MigrationCancelled', 'the marker is durable');
  assert.deepEqual(await rig.b.listGuests(), [{ uuid: SPEC.uuid, state: 'incoming' }], 'nothing arrived');
});

test('an abort during the copy cancels it; one after the copy completed is refused', async () => {
  const { driver } = await rig.startA();
  await driver.spawn(SPEC);
  const { uri } = await rig.b.prepareIncoming(SPEC, 7);
  const release = driver.faults.hang('migrate.pass');
  await rig.lcall(Step.MIGRATE, migrateArgs(7, uri));
  assert.deepEqual(await rig.call(Step.ABORT, stepArgs(7)), { copy: 'cancelling' });
  release();
  assert.equal((await rig.waitResult(7, Step.MIGRATE, 1)).error?.code, 'MigrationCancelled');
  assert.deepEqual(await driver.listGuests(), [{ uuid: SPEC.uuid, state: 'running' }]);

  await rig.lcall(Step.MIGRATE, migrateArgs(8, uri));
  assert.equal((await rig.waitResult(8, Step.MIGRATE, 1)).ok, true);
  await assert.rejects(rig.call(Step.ABORT, stepArgs(8)), { code: 'InvalidMigrationState' });
});

test('forget_migration prunes a terminal migration; the TTL sweep prunes old finished entries; running entries stay', async () => {
  let now = 1_000_000;
  const clock: Clock = { now: () => now, sleep: async () => undefined };
  const { driver, journal, agent } = await rig.startA({ clock, reportIntervalMs: 20, journalTtlMs: 60_000 });
  await driver.spawn(SPEC);
  for (const id of [10, 11]) await rig.call(Step.CHECK_SOURCE, stepArgs(id));
  const release = driver.faults.hang('rollbackSource');
  await rig.lcall(Step.ROLLBACK_SOURCE, stepArgs(12));
  const has = (migrationId: number, step: Step) => journal.get({ migrationId, step, attempt: 1 }) !== null;

  await rig.cast('forget_migration', { migrationId: 10 });
  await rig.cast('forget_migration', { migrationId: 12 });
  await waitFor('migration 10 to be forgotten', async () => !has(10, Step.CHECK_SOURCE));
  assert.ok(has(11, Step.CHECK_SOURCE), 'other migrations are kept');
  assert.ok(has(12, Step.ROLLBACK_SOURCE), 'a running entry is never pruned');

  now += 61_000;
  await waitFor('the TTL sweep', async () => !has(11, Step.CHECK_SOURCE));
  assert.ok(has(12, Step.ROLLBACK_SOURCE), 'still running, still kept');
  release();
  await rig.waitResult(12, Step.ROLLBACK_SOURCE, 1);
  now += 61_000;
  await waitFor('the finished entry to expire', async () => !has(12, Step.ROLLBACK_SOURCE));
  assert.equal(agent.stepsInFlight, 0, 'nothing stays in memory');
});

test('the journal file keeps entries across reopening; a journal from a newer agent is refused', async () => {
  const path = `${rig.dir}/j.sqlite`;
  const j1 = openSqliteStepJournal(path);
  j1.accept({ migrationId: 1, step: Step.PRE, attempt: 1, state: 'running', args: { a: 1 }, executions: 1, now: 5 });
  j1.settle({ migrationId: 1, step: Step.PRE, attempt: 1 }, { ok: true, result: { uri: 'tcp:1.2.3.4:5' } }, 6);
  j1.markAborted(1, 7);
  j1.close();
  const j2 = openSqliteStepJournal(path);
  assert.deepEqual(j2.get({ migrationId: 1, step: Step.PRE, attempt: 1 }), {
    migrationId: 1, step: Step.PRE, attempt: 1, state: 'done', args: { a: 1 }, result: { uri: 'tcp:1.2.3.4:5' }, executions: 1, acceptedAt: 5, updatedAt: 6,
  });
  assert.equal(j2.isAborted(1), true);
  assert.throws(() => j2.accept({ migrationId: 1, step: Step.PRE, attempt: 1, state: 'running', args: {}, executions: 1, now: 8 }), /UNIQUE/);
  j2.close();
  const Database = (await import('better-sqlite3')).default;
  const raw = new Database(path);
  raw.pragma('user_version = 99');
  raw.close();
  assert.throws(() => openSqliteStepJournal(path), /written by a newer agent \(schema 99/);
});

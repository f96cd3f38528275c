/** The conductor-owned live migration end to end on the embedded default (SQLite in memory, in-process transport, fake driver). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Step } from '../../src/core/migration-steps.js';
import { liveMigrate, waitFor } from '../../src/services/cluster-ops.js';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import { bootOn, startFixture, whereIs, type Fixture } from '../support/embedded-fixture.js';

let f: Fixture;
before(async () => {
  f = await startFixture({ conductor: { tickMs: 20, workflow: { checkTimeoutMs: 300, queryTimeoutMs: 150, retryBackoffMs: 100 } } });
});
after(async () => f.stop());

async function expectCleanFailure(uuid: string, migrationId: number, source: string, dest: string) {
  const inst = (await f.cluster.store.repo.getInstance(uuid))!;
  assert.equal(inst.host, source, 'the record names the source, where the guest runs');
  assert.equal(inst.vmState, 'active');
  assert.equal(inst.taskState, null);
  assert.deepEqual(await whereIs(f, uuid), { [source]: 'running' }, 'the guest runs on the source only');
  assert.deepEqual(await f.cluster.store.repo.listClaims(dest), [], 'no claim left on the destination');
  const steps = await f.cluster.store.repo.listSteps(migrationId);
  for (const s of [Step.ROLLBACK_SOURCE, Step.ROLLBACK_DEST]) {
    assert.ok(steps.some((x) => x.step === s && x.status === 'done'), `${s} ran`);
  }
}

test('a successful migration: guest and record on the destination, six steps once each, checks overlapped, no compute-to-compute message', async () => {
  const vm = await bootOn(f, 'host-a', 'ok-1');
  // Make each check take a while, so that overlap (or not) shows in the journal.
  f.fake('host-b').faults.delay('checkDestination', 60);
  f.fake('host-a').faults.delay('checkSource', 60);
  f.trace.length = 0;
  const m = await liveMigrate(f.cluster.requests, vm.uuid, 'host-b');
  assert.equal(m.status, 'completed', m.error ?? '');
  assert.deepEqual(await whereIs(f, vm.uuid), { 'host-b': 'running' }, "the driver's registry");
  assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-b', 'the store');
  assert.deepEqual(m.state.history.map((h) => h.status), ['accepted', 'queued', 'preparing', 'running', 'post-migrating', 'completed']);

  const steps = await f.cluster.store.repo.listSteps(m.id);
  assert.deepEqual(steps.map((s) => s.step).sort(), [Step.CHECK_DEST, Step.CHECK_SOURCE, Step.MIGRATE, Step.POST_DEST, Step.POST_SOURCE, Step.PRE].sort());
  for (const s of steps) assert.ok(s.status === 'done' && s.attempt === 1 && s.doneAt !== null, `${s.step} done once`);

  const d = steps.find((s) => s.step === Step.CHECK_DEST)!;
  const s = steps.find((x) => x.step === Step.CHECK_SOURCE)!;
  assert.ok(d.sentAt <= s.doneAt! && s.sentAt <= d.doneAt!, `check intervals intersect: dest [${d.sentAt},${d.doneAt}] source [${s.sentAt},${s.doneAt}]`);
  const pre = steps.find((x) => x.step === Step.PRE)!;
  const mig = steps.find((x) => x.step === Step.MIGRATE)!;
  assert.ok(pre.doneAt! <= mig.sentAt, 'pre_live_migration finished before live_migration was sent');

  assert.ok(f.trace.some((r) => r.from.role === 'compute' && r.toRole === 'conductor' && r.method === 'step_result'), 'computes report to the conductor');
  const c2c = f.trace.filter((r) => r.from.role === 'compute' && r.toRole === 'compute');
  assert.deepEqual(c2c, [], 'no message from one compute to another');
  for (const step of [Step.CHECK_DEST, Step.CHECK_SOURCE, Step.PRE, Step.MIGRATE, Step.POST_SOURCE, Step.POST_DEST]) {
    assert.ok(f.trace.some((r) => r.method === step && r.from.role === 'conductor' && r.kind !== 'reply'), `${step} sent by the conductor`);
  }
  await assertCleanAudit(f.cluster);
});

test('pre_live_migration fails: both sides roll back, status failed', async () => {
  const vm = await bootOn(f, 'host-a', 'pre-fail');
  f.fake('host-c').faults.fail('prepareIncoming', { message: 'injected: cannot plug VIFs' });
  const m = await liveMigrate(f.cluster.requests, vm.uuid, 'host-c');
  assert.equal(m.status, 'failed');
  assert.match(m.error!, /cannot plug VIFs/);
  await expectCleanFailure(vm.uuid, m.id, 'host-a', 'host-c');
  await assertCleanAudit(f.cluster);
});

test('the driver fails mid-copy: both sides roll back, status failed', async () => {
  const vm = await bootOn(f, 'host-b', 'copy-fail');
  f.fake('host-b').faults.fail('migrate.pass', { message: 'injected: stream reset' });
  const m = await liveMigrate(f.cluster.requests, vm.uuid, 'host-c');
  assert.equal(m.status, 'failed');
  assert.match(m.error!, /stream reset/);
  await expectCleanFailure(vm.uuid, m.id, 'host-b', 'host-c');
  await assertCleanAudit(f.cluster);
});

test('a check times out: nothing changes on either host, status error', async () => {
  const vm = await bootOn(f, 'host-c', 'check-timeout');
  const release = f.fake('host-a').faults.hang('checkDestination');
  try {
    const m = await liveMigrate(f.cluster.requests, vm.uuid, 'host-a');
    assert.equal(m.status, 'error');
    assert.match(m.error!, /check_can_live_migrate_destination/);
    const steps = await f.cluster.store.repo.listSteps(m.id);
    assert.ok(!steps.some((s) => s.step === Step.PRE), 'nothing was prepared');
    await expectNothingChanged(vm.uuid, 'host-c', 'host-a');
    await assertCleanAudit(f.cluster);
  } finally {
    release();
  }
});

async function expectNothingChanged(uuid: string, source: string, dest: string) {
  const inst = (await f.cluster.store.repo.getInstance(uuid))!;
  assert.equal(inst.host, source);
  assert.equal(inst.vmState, 'active');
  assert.equal(inst.taskState, null);
  assert.deepEqual(await whereIs(f, uuid), { [source]: 'running' });
  assert.deepEqual(await f.cluster.store.repo.listClaims(dest), []);
}

test('a post step fails once and succeeds on retry: the instance is recorded on the destination throughout', async () => {
  const vm = await bootOn(f, 'host-a', 'post-retry');
  f.fake('host-b').faults.fail('finishIncoming', { message: 'injected: transient' });
  const m = await requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host: 'host-b', blockMigration: 'auto', projectId: 'p', userId: 'u' });
  await waitFor('the first post attempt to fail', async () =>
    (await f.cluster.store.repo.listSteps(m.id)).some((s) => s.step === Step.POST_DEST && s.status === 'failed'));
  const during = await f.cluster.store.repo.getMigration(m.id);
  assert.equal(during!.status, 'post-migrating');
  assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-b', 'recorded on the destination while post is retried');
  const end = await waitFor('completion', async () => {
    const r = await f.cluster.store.repo.getMigration(m.id);
    return r?.status === 'completed' ? r : undefined;
  });
  const posts = (await f.cluster.store.repo.listSteps(end.id)).filter((s) => s.step === Step.POST_DEST);
  assert.deepEqual(posts.map((p) => [p.attempt, p.status]), [[1, 'failed'], [2, 'done']]);
  assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-b');
  assert.deepEqual(await whereIs(f, vm.uuid), { 'host-b': 'running' });
  await assertCleanAudit(f.cluster);
});

test('a second migration of a busy instance is refused with InstanceInvalidState', async () => {
  const vm = await bootOn(f, 'host-c', 'busy');
  const release = f.fake('host-a').faults.hang('prepareIncoming');
  try {
    const first = await requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host: 'host-a', blockMigration: false, projectId: 'p', userId: 'u' });
    await assert.rejects(requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host: 'host-b', blockMigration: false, projectId: 'p', userId: 'u' }),
      (e: Error & { code?: string }) => e.code === 'InstanceInvalidState');
    release();
    const done = await waitFor('first migration', async () => {
      const r = await f.cluster.store.repo.getMigration(first.id);
      return r && ['completed', 'failed', 'error'].includes(r.status) ? r : undefined;
    });
    assert.ok(['completed', 'failed'].includes(done.status), done.error ?? '');
    await assertCleanAudit(f.cluster);
  } finally {
    release();
  }
});

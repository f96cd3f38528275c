/**
 * An abort that races live_migration: sent after the conductor sent live_migration but before the source
 * acknowledged it, so the abort reaches the source before the copy it should stop has begun.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestLiveMigration, requestMigrationAction } from '../../src/api/live-migration-request.js';
import { Step } from '../../src/core/migration-steps.js';
import { systemClock } from '../../src/runtime/system-clock.js';
import { waitFor, waitForMigration } from '../../src/services/cluster-ops.js';
import { bootOn, startFixture, whereIs, type Fixture } from '../support/embedded-fixture.js';

let f: Fixture;
// The copy takes 2 s of real time (2 GiB at 1 GiB/s), long enough to be stopped once it runs.
before(async () => { f = await startFixture({ conductor: { tickMs: 20 }, driverClock: systemClock, fakePolicy: { bandwidthMibs: 1024 } }); });
after(async () => f.stop());

test('an abort sent between the live_migration send and its ack ends cancelled: guest and record on the source, no claim', async () => {
  const vm = await bootOn(f, 'host-a', 'abort-race');
  // live_migration is held on its way to the source; everything else flows.
  const release = f.cluster.bus.hold((topic, msg) => topic === 'compute.host-a' && msg.method === Step.MIGRATE);
  let m;
  try {
    m = await requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host: 'host-b', blockMigration: false, projectId: 'p', userId: 'u' });
    const id = m.id;
    const steps = () => f.cluster.store.repo.listSteps(id);
    await waitFor('live_migration to be sent', async () => (await steps()).some((s) => s.step === Step.MIGRATE));
    assert.equal((await f.cluster.store.repo.getMigration(id))!.status, 'preparing', 'not yet acknowledged by the source');
    await requestMigrationAction(f.cluster.requests, vm.uuid, id, 'abort');
    // The abort reaches the source first, where no copy runs yet.
    await waitFor('the first abort to be answered', async () =>
      (await steps()).some((s) => s.step === Step.ABORT && s.attempt === 1 && (s.status === 'done' || s.status === 'failed')));
  } finally {
    release();
  }
  const end = await waitForMigration(f.cluster.store, m.id, 10_000);
  assert.equal(end.status, 'cancelled', end.error ?? '');
  assert.deepEqual(await whereIs(f, vm.uuid), { 'host-a': 'running' }, 'the guest runs on the source only');
  const inst = (await f.cluster.store.repo.getInstance(vm.uuid))!;
  assert.deepEqual([inst.host, inst.vmState, inst.taskState], ['host-a', 'active', null]);
  assert.deepEqual(await f.cluster.store.repo.listClaims(), [], 'no claim left');
});

test('after switch-over an abort is refused with InvalidMigrationState and the migration completes', async () => {
  const vm = await bootOn(f, 'host-c', 'abort-too-late');
  const release = f.fake('host-b').faults.hang('finishIncoming');
  try {
    const m = await requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host: 'host-b', blockMigration: false, projectId: 'p', userId: 'u' });
    await waitFor('post-migrating', async () => (await f.cluster.store.repo.getMigration(m.id))?.status === 'post-migrating', 10_000);
    await assert.rejects(requestMigrationAction(f.cluster.requests, vm.uuid, m.id, 'abort'),
      (e: Error & { code?: string; httpStatus?: number }) => e.code === 'InvalidMigrationState' && e.httpStatus === 400 && /post-migrating/.test(e.message));
    release();
    assert.equal((await waitForMigration(f.cluster.store, m.id, 10_000)).status, 'completed');
    assert.deepEqual(await whereIs(f, vm.uuid), { 'host-b': 'running' });
  } finally {
    release();
  }
});

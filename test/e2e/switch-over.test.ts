/**
 * Proof of switch-over, end to end: the source is cut off (every message to or from it held) after it accepted
 * live_migration, the conductor gives up on it and rolls back, but the copy finishes meanwhile. The destination
 * refuses to destroy the guest that now runs there, and that refusal is proof: the record follows the guest.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { Step } from '../../src/core/migration-steps.js';
import { systemClock } from '../../src/runtime/system-clock.js';
import { waitFor, waitForMigration } from '../../src/services/cluster-ops.js';
import { bootOn, startFixture, whereIs, type Fixture } from '../support/embedded-fixture.js';

let f: Fixture;
// Give-up after about 0.6 s of silence; the copy (2 GiB at 1 GiB/s, real time) takes 2 s.
const workflow = { migrateStallMs: 300, queryTimeoutMs: 100, maxQueries: 2, retryBackoffMs: 100, rollbackTimeoutMs: 5_000 };
before(async () => {
  f = await startFixture({ conductor: { tickMs: 20, workflow }, driverClock: systemClock, fakePolicy: { bandwidthMibs: 1024 } });
});
after(async () => f.stop());

test('source cut off past give-up while the copy finishes: the record names the host that runs the guest, claims match, completed', async () => {
  const vm = await bootOn(f, 'host-a', 'partitioned-source');
  // The destination's rollback runs only after the copy has handed the guest over.
  f.fake('host-b').faults.delay('rollbackDestination', 2_500);
  const m = await requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host: 'host-b', blockMigration: false, projectId: 'p', userId: 'u' });
  const steps = () => f.cluster.store.repo.listSteps(m.id);
  await waitFor('live_migration to be acked', async () => (await steps()).some((s) => s.step === Step.MIGRATE && s.status === 'acked'));
  const release = f.cluster.bus.hold((topic, msg) => topic === 'compute.host-a' || (msg.from.role === 'compute' && msg.from.host === 'host-a'));
  try {
    await waitFor('the conductor to give up and roll back', async () => (await steps()).some((s) => s.step === Step.ROLLBACK_DEST), 5_000);
    const flipped = await waitFor('the switch-over to be recorded', async () => {
      const row = await f.cluster.store.repo.getMigration(m.id);
      return row?.status === 'post-migrating' ? row : undefined;
    }, 10_000);
    // Still cut off from the source: the store already follows the hypervisor.
    assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-b');
    assert.equal((await whereIs(f, vm.uuid))['host-b'], 'running');
    assert.deepEqual(await f.cluster.store.repo.listClaims(), [], 'no claim on the destination once the guest is counted there');
    assert.equal(flipped.error, null);
  } finally {
    release();
  }
  const end = await waitForMigration(f.cluster.store, m.id, 10_000);
  assert.equal(end.status, 'completed', end.error ?? '');
  assert.deepEqual(await whereIs(f, vm.uuid), { 'host-b': 'running' }, 'one copy, on the destination');
  const inst = (await f.cluster.store.repo.getInstance(vm.uuid))!;
  assert.deepEqual([inst.host, inst.vmState, inst.taskState], ['host-b', 'active', null]);
  assert.deepEqual(await f.cluster.store.repo.listClaims(), []);
  const journal = await steps();
  const last = (step: string) => journal.filter((s) => s.step === step).at(-1)!;
  assert.equal(last(Step.MIGRATE).status, 'done');
  assert.match(last(Step.ROLLBACK_DEST).error ?? '', /^MigrationSwitchedOver: .*incoming guest arrived and is running on host-b/);
  assert.match(last(Step.ROLLBACK_SOURCE).error ?? '', /superseded: the guest switched over to host-b/);
  assert.ok(!journal.some((s) => s.step === Step.ROLLBACK_SOURCE && s.status === 'done'), 'the source was never resumed');
  assert.equal(last(Step.POST_SOURCE).status, 'done');
  assert.equal(last(Step.POST_DEST).status, 'done');
});

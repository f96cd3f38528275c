/** Failures that must end or route around a migration at once instead of after a long timeout. */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { Step } from '../../src/core/migration-steps.js';
import { liveMigrate, waitForMigration } from '../../src/services/cluster-ops.js';
import { bootOn, startFixture, whereIs, type Fixture } from '../support/embedded-fixture.js';

let f: Fixture;
const conductor = { tickMs: 250, workflow: { checkTimeoutMs: 200, queryTimeoutMs: 100 } };
beforeEach(async () => { f = await startFixture({ conductor }); });
afterEach(async () => f.stop());

test('a migration whose source compute is down ends within one tick with ComputeServiceUnavailable; nothing is asked of any host', async () => {
  const vm = await bootOn(f, 'host-a', 'down-source');
  await f.cluster.computes.get('host-a')!.stop();
  const svc = (await f.cluster.store.repo.getService('host-a'))!;
  await f.cluster.store.repo.upsertService({ ...svc, lastHeartbeat: Date.now() - f.cluster.config.serviceDownTimeMs - 1_000 });
  const t0 = Date.now();
  const m = await requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host: null, blockMigration: 'auto', projectId: 'p', userId: 'u' });
  const end = await waitForMigration(f.cluster.store, m.id, 5_000);
  const took = Date.now() - t0;
  assert.equal(end.status, 'error');
  assert.match(end.error!, /^ComputeServiceUnavailable: Compute service of host-a is unavailable/);
  assert.ok(took < conductor.tickMs, `ended ${took} ms after the request`);
  assert.deepEqual(await f.cluster.store.repo.listSteps(m.id), [], 'no step was sent');
  const inst = (await f.cluster.store.repo.getInstance(vm.uuid))!;
  assert.deepEqual([inst.host, inst.vmState, inst.taskState], ['host-a', 'active', null]);
  assert.deepEqual(await f.cluster.store.repo.listClaims(), []);
});

test('a scheduler-picked destination whose check times out is skipped and the next host takes the guest', async () => {
  const vm = await bootOn(f, 'host-a', 'check-timeout');
  // host-b and host-c are equally free; the weigher breaks the tie by name, so host-b is tried first.
  const release = f.fake('host-b').faults.hang('checkDestination');
  try {
    const m = await liveMigrate(f.cluster.requests, vm.uuid, null);
    assert.equal(m.status, 'completed', m.error ?? '');
    const checks = (await f.cluster.store.repo.listSteps(m.id)).filter((s) => s.step === Step.CHECK_DEST);
    assert.deepEqual(checks.map((c) => [c.attempt, c.host, c.status]), [[1, 'host-b', 'failed'], [2, 'host-c', 'done']]);
    assert.match(checks[0]!.error!, /^MessagingTimeout: /);
    assert.deepEqual(m.state.excluded, ['host-b']);
    assert.deepEqual(await whereIs(f, vm.uuid), { 'host-c': 'running' });
    assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-c');
    assert.deepEqual(await f.cluster.store.repo.listClaims(), [], 'no claim left anywhere');
  } finally {
    release();
  }
});

test('a named destination whose check times out ends the migration; nothing moved', async () => {
  const vm = await bootOn(f, 'host-a', 'named-timeout');
  const release = f.fake('host-b').faults.hang('checkDestination');
  try {
    const m = await liveMigrate(f.cluster.requests, vm.uuid, 'host-b');
    assert.equal(m.status, 'error');
    assert.match(m.error!, /check_can_live_migrate_destination/);
    assert.deepEqual(m.state.excluded, []);
    assert.deepEqual(await whereIs(f, vm.uuid), { 'host-a': 'running' });
    assert.deepEqual(await f.cluster.store.repo.listClaims(), []);
  } finally {
    release();
  }
});

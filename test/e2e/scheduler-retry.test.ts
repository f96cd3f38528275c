/** The scheduler's retry, end to end: a destination that fails its check is excluded, its claim released, and the next host used. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Step } from '../../src/core/migration-steps.js';
import { liveMigrate } from '../../src/services/cluster-ops.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import { bootOn, startFixture, whereIs, type Fixture } from '../support/embedded-fixture.js';

let f: Fixture;
before(async () => { f = await startFixture(); });
after(async () => f.stop());

test('no destination named: host-b fails its CPU check, host-c takes the guest', async () => {
  const vm = await bootOn(f, 'host-a', 'retry');
  // host-b and host-c are equally free; the weigher breaks the tie by name, so host-b is tried first.
  f.fake('host-b').faults.fail('checkDestination', { code: 'InvalidCPUInfo', message: 'injected: CPU lacks avx512f' });
  const m = await liveMigrate(f.cluster.requests, vm.uuid, null);
  assert.equal(m.status, 'completed', m.error ?? '');
  const checks = (await f.cluster.store.repo.listSteps(m.id)).filter((s) => s.step === Step.CHECK_DEST);
  assert.deepEqual(checks.map((c) => [c.attempt, c.host, c.status]), [[1, 'host-b', 'failed'], [2, 'host-c', 'done']]);
  assert.match(checks[0]!.error!, /InvalidCPUInfo/);
  assert.deepEqual(m.state.excluded, ['host-b']);
  assert.deepEqual(await f.cluster.store.repo.listClaims(), [], 'no claim left anywhere');
  assert.deepEqual(await whereIs(f, vm.uuid), { 'host-c': 'running' });
  assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-c');
  await assertCleanAudit(f.cluster);
});

test('every other host fails its check: the migration ends in error, nothing moved, no claims', async () => {
  const vm = await bootOn(f, 'host-c', 'no-host');
  for (const h of ['host-a', 'host-b']) f.fake(h).faults.fail('checkDestination', { code: 'MigrationPreCheckError', message: `injected: ${h} full` });
  const m = await liveMigrate(f.cluster.requests, vm.uuid, null);
  assert.equal(m.status, 'error');
  assert.match(m.error!, /No valid host/);
  assert.deepEqual([...m.state.excluded].sort(), ['host-a', 'host-b']);
  assert.deepEqual(await f.cluster.store.repo.listClaims(), []);
  assert.deepEqual(await whereIs(f, vm.uuid), { 'host-c': 'running' });
  const inst = (await f.cluster.store.repo.getInstance(vm.uuid))!;
  assert.deepEqual([inst.host, inst.taskState], ['host-c', null]);
  await assertCleanAudit(f.cluster);
});

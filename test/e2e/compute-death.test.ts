/** A compute that dies mid-migration: the migration still ends, in bounded time, and says what is left. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { Step } from '../../src/core/migration-steps.js';
import { waitForMigration } from '../../src/services/cluster-ops.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import { bootOn, startFixture, whereIs, type Fixture } from '../support/embedded-fixture.js';

let f: Fixture;
// Short deadlines so the whole give-up path fits in a few seconds.
const workflow = { preTimeoutMs: 200, queryTimeoutMs: 100, maxQueries: 2, maxAttempts: 2, retryBackoffMs: 100, rollbackTimeoutMs: 200 };
before(async () => { f = await startFixture({ conductor: { tickMs: 20, workflow } }); });
after(async () => f.stop());

test('the destination compute dies during pre_live_migration: error within bounded time, guest on the source, leftovers named', async () => {
  const vm = await bootOn(f, 'host-a', 'orphan');
  f.fake('host-b').faults.hang('prepareIncoming');
  const t0 = Date.now();
  const m = await requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host: 'host-b', blockMigration: false, projectId: 'p', userId: 'u' });
  // The agent goes away without finishing: nothing answers on compute.host-b any more.
  await new Promise((r) => setTimeout(r, 50));
  void f.cluster.computes.get('host-b')!.stop();
  const end = await waitForMigration(f.cluster.store, m.id, 15_000);
  const took = Date.now() - t0;
  assert.equal(end.status, 'error', end.error ?? '');
  assert.match(end.error!, /pre_live_migration/);
  assert.ok(end.state.leftovers.some((l) => /rollback_live_migration_at_destination failed on host-b/.test(l)), end.state.leftovers.join('; '));
  const steps = await f.cluster.store.repo.listSteps(m.id);
  assert.ok(steps.some((s) => s.step === Step.ROLLBACK_SOURCE && s.status === 'done'), 'the source was rolled back');
  assert.ok(steps.filter((s) => s.step === Step.ROLLBACK_DEST).every((s) => s.status === 'failed'), 'the dead destination could not be');
  const inst = (await f.cluster.store.repo.getInstance(vm.uuid))!;
  assert.deepEqual([inst.host, inst.vmState, inst.taskState], ['host-a', 'active', null], 'the record still names the source');
  assert.equal((await whereIs(f, vm.uuid))['host-a'], 'running');
  assert.deepEqual(await f.cluster.store.repo.listClaims(), [], 'the claim on the destination is released');
  console.log(`# ended ${end.status} ${took} ms after the request`);
  const audit = await assertCleanAudit(f.cluster);
  assert.deepEqual(audit.unreachable.map((u) => u.host), ['host-b'], 'the dead compute is reported unreachable, its guests unknown');
});

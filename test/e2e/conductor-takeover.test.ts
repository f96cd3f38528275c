/** A conductor that stops mid-migration leaves the journal; a new conductor on the same store resumes from it. */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { conductorConfig } from '../../src/conductor/conductor-config.js';
import { Conductor } from '../../src/conductor/conductor-service.js';
import { Step } from '../../src/core/migration-steps.js';
import { systemClock } from '../../src/runtime/system-clock.js';
import { waitFor, waitForMigration } from '../../src/services/cluster-ops.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import { bootOn, startFixture, whereIs, type Fixture } from '../support/embedded-fixture.js';

let f: Fixture;
const config = { tickMs: 20, workflow: { preTimeoutMs: 200, queryTimeoutMs: 100, migrateStallMs: 300 } };
beforeEach(async () => { f = await startFixture({ conductor: config }); });
afterEach(async () => f.stop());

for (const [label, op, step] of [
  ['pre_live_migration', 'prepareIncoming', Step.PRE],
  ['a post step', 'finishIncoming', Step.POST_DEST],
] as const) {
  test(`the conductor stops while ${label} runs; its successor asks the compute and finishes the migration`, async () => {
    const vm = await bootOn(f, 'host-a', `takeover-${op}`);
    const release = f.fake('host-b').faults.hang(op);
    const m = await requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host: 'host-b', blockMigration: false, projectId: 'p', userId: 'u' });
    await waitFor(`${step} to be sent`, async () => (await f.cluster.store.repo.listSteps(m.id)).some((s) => s.step === step));
    await f.cluster.conductor.stop();
    const successor = new Conductor({ name: 'conductor-1', store: f.cluster.store, transport: f.cluster.bus.transport(), clock: systemClock,
      config: conductorConfig(config), log: () => undefined });
    try {
      await successor.start();
      release();
      const end = await waitForMigration(f.cluster.store, m.id);
      assert.equal(end.status, 'completed', end.error ?? '');
      assert.deepEqual(await whereIs(f, vm.uuid), { 'host-b': 'running' });
      assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-b');
      const steps = (await f.cluster.store.repo.listSteps(m.id)).filter((s) => s.step === step);
      assert.ok(steps.every((s) => s.status === 'done' || s.status === 'sent'), 'the step was asked about, not failed');
      assert.ok(steps.some((s) => s.status === 'done'));
      await assertCleanAudit({ conductor: successor, store: f.cluster.store });
    } finally {
      release();
      await successor.stop();
    }
  });
}

/**
 * Concurrency limits on the embedded default: a migration over a limit waits in status `queued`, first
 * come first served per host, shows its place in the queue, starts when a slot frees, and can be aborted
 * to `cancelled`. The copies are held on their way to the source, so the slots stay taken while we look.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestLiveMigration, requestMigrationAction } from '../../src/api/live-migration-request.js';
import type { MigrationLimits } from '../../src/core/admission.js';
import { Step } from '../../src/core/migration-steps.js';
import type { Instance } from '../../src/core/model.js';
import { waitFor, waitForMigration } from '../../src/services/cluster-ops.js';
import type { MigrationRow, StepRow } from '../../src/store/store.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import { bootOn, startFixture, type Fixture } from '../support/embedded-fixture.js';

async function withCluster(limits: Partial<MigrationLimits>, body: (f: Fixture) => Promise<void>): Promise<void> {
  const f = await startFixture({ conductor: { tickMs: 20, limits } });
  try {
    await body(f);
    await assertCleanAudit(f.cluster);
  } finally {
    await f.stop();
  }
}

/** Holds every live_migration sent to `hosts`: the migrations that got that far keep their slots. */
function holdCopies(f: Fixture, hosts: readonly string[]): () => void {
  return f.cluster.bus.hold((topic, msg) => msg.method === Step.MIGRATE && hosts.some((h) => topic === `compute.${h}`));
}

function migrate(f: Fixture, vm: Instance, host: string | null = null): Promise<MigrationRow> {
  return requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host, blockMigration: false, projectId: 'p', userId: 'u' });
}

const row = async (f: Fixture, m: MigrationRow) => (await f.cluster.store.repo.getMigration(m.id))!;

/** Waits until `sent` have sent live_migration and `waiting` wait queued; returns each waiting one's reason. */
async function settle(f: Fixture, sent: readonly MigrationRow[], waiting: readonly MigrationRow[]): Promise<string[]> {
  await waitFor('the admitted ones to reach live_migration and the others to queue', async () => {
    for (const m of sent) if (!(await f.cluster.store.repo.listSteps(m.id)).some((s) => s.step === Step.MIGRATE)) return false;
    for (const m of waiting) if ((await row(f, m)).state.phase !== 'queued') return false;
    return true;
  }, 10_000);
  return Promise.all(waiting.map(async (m) => (await row(f, m)).state.queue!.reason));
}

function copyInterval(steps: readonly StepRow[]): [number, number] {
  const s = steps.find((x) => x.step === Step.MIGRATE && x.status === 'done')!;
  return [s.sentAt, s.doneAt!];
}

test('one migration out of a host at a time by default; the others queue in order, show their place, and one aborts to cancelled', async () => {
  await withCluster({}, async (f) => {
    const vms = await Promise.all([0, 1, 2, 3].map((i) => bootOn(f, 'host-a', `q-${i}`)));
    const release = holdCopies(f, ['host-a']);
    const ms: MigrationRow[] = [];
    try {
      for (const vm of vms) ms.push(await migrate(f, vm));
      const reasons = await settle(f, [ms[0]!], ms.slice(1));
      assert.deepEqual(reasons, ['outbound limit of host-a reached (1 of 1)', `behind migration ${ms[1]!.id} in the queue of host-a`,
        `behind migration ${ms[1]!.id} in the queue of host-a`]);
      const places = await Promise.all(ms.map((m) => f.cluster.store.repo.queuePlace(m.id)));
      assert.deepEqual(places, [undefined, { position: 1, host: 'host-a' }, { position: 2, host: 'host-a' }, { position: 3, host: 'host-a' }]);
      for (const m of ms.slice(1)) {
        assert.equal((await row(f, m)).status, 'queued');
        assert.deepEqual(await f.cluster.store.repo.listSteps(m.id), [], 'nothing was asked of any host');
      }
      assert.deepEqual((await f.cluster.store.repo.listClaims()).map((c) => c.migrationId), [ms[0]!.id], 'a queued migration claims nothing');
      await requestMigrationAction(f.cluster.requests, vms[2]!.uuid, ms[2]!.id, 'abort');
      const cancelled = await waitForMigration(f.cluster.store, ms[2]!.id);
      assert.equal(cancelled.status, 'cancelled');
      assert.deepEqual(cancelled.state.history.map((h) => h.status), ['accepted', 'queued', 'cancelled']);
      assert.deepEqual(await f.cluster.store.repo.queuePlace(ms[3]!.id), { position: 2, host: 'host-a' }, 'the one behind moved up');
      assert.equal((await f.cluster.store.repo.getInstance(vms[2]!.uuid))!.taskState, null, 'the instance is free again');
    } finally {
      release();
    }
    const done = await Promise.all([0, 1, 3].map((i) => waitForMigration(f.cluster.store, ms[i]!.id, 15_000)));
    assert.deepEqual(done.map((m) => m.status), ['completed', 'completed', 'completed']);
    // First come, first served, and never two copies out of host-a at once.
    const copies = await Promise.all(done.map(async (m) => copyInterval(await f.cluster.store.repo.listSteps(m.id))));
    for (let i = 1; i < copies.length; i++) assert.ok(copies[i]![0] >= copies[i - 1]![1], `copy ${i} began after copy ${i - 1} ended`);
  });
});

test('a per-host override, the cluster limit and a named destination\'s inbound limit', async () => {
  await withCluster({ perHostOutbound: 1, cluster: 3, hosts: { 'host-b': { outbound: 2 }, 'host-a': { inbound: 1 } } }, async (f) => {
    const onB = await Promise.all([0, 1, 2].map((i) => bootOn(f, 'host-b', `b-${i}`)));
    const onC = await Promise.all([0, 1].map((i) => bootOn(f, 'host-c', `c-${i}`)));
    const release = holdCopies(f, ['host-b', 'host-c']);
    try {
      const b = [await migrate(f, onB[0]!, 'host-a'), await migrate(f, onB[1]!, 'host-c'), await migrate(f, onB[2]!, 'host-c')];
      assert.deepEqual(await settle(f, b.slice(0, 2), b.slice(2)), ['outbound limit of host-b reached (2 of 2)']);
      const c = [await migrate(f, onC[0]!, 'host-a'), await migrate(f, onC[1]!, 'host-b')];
      assert.deepEqual(await settle(f, [], c), ['inbound limit of host-a reached (1 of 1)', `behind migration ${c[0]!.id} in the queue of host-c`]);
    } finally {
      release();
    }
    await waitFor('every migration to end', async () => (await f.cluster.store.repo.activeMigrations()).length === 0, 15_000);
    assert.deepEqual((await f.cluster.store.repo.listMigrations()).map((m) => m.status), Array(5).fill('completed'));
  });
  await withCluster({ perHostOutbound: 0, cluster: 2 }, async (f) => {
    const vms = await Promise.all([0, 1, 2].map((i) => bootOn(f, 'host-a', `k-${i}`)));
    const release = holdCopies(f, ['host-a']);
    try {
      const ms = [await migrate(f, vms[0]!), await migrate(f, vms[1]!), await migrate(f, vms[2]!)];
      assert.deepEqual(await settle(f, ms.slice(0, 2), ms.slice(2)), ['cluster limit reached (2 of 2 migrations in progress)']);
    } finally {
      release();
    }
    await waitFor('every migration to end', async () => (await f.cluster.store.repo.activeMigrations()).length === 0, 15_000);
  });
});

test('a migration the scheduler places waits while every host that would take it is at its inbound limit', async () => {
  await withCluster({ perHostOutbound: 0, perHostInbound: 1 }, async (f) => {
    const vms = await Promise.all([0, 1, 2].map((i) => bootOn(f, 'host-a', `i-${i}`)));
    const release = holdCopies(f, ['host-a']);
    let third: MigrationRow;
    try {
      const named = [await migrate(f, vms[0]!, 'host-b'), await migrate(f, vms[1]!, 'host-c')];
      third = await migrate(f, vms[2]!);
      assert.deepEqual(await settle(f, named, [third]),
        ['every destination that would take it is at its inbound limit: host-b (1 of 1), host-c (1 of 1)']);
    } finally {
      release();
    }
    const end = await waitForMigration(f.cluster.store, third.id, 15_000);
    assert.equal(end.status, 'completed', end.error ?? '');
    assert.ok(['host-b', 'host-c'].includes(end.destCompute!));
  });
});

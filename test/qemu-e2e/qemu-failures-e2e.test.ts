/**
 * Live migrations through the conductor that cannot, or must not, finish as plain pre-copy, with real
 * QEMU guests: completion timeout with abort and with force-complete through post-copy, abort by request,
 * and a destination QEMU killed mid-copy. After each, the guest runs on exactly one host, the record
 * names it, and there is one QEMU process per instance.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { requestLiveMigration, requestMigrationAction } from '../../src/api/live-migration-request.js';
import type { MonitorPolicy } from '../../src/compute/drivers/qemu/index.js';
import { Step } from '../../src/core/migration-steps.js';
import { isTerminal } from '../../src/core/migration-status.js';
import type { Instance } from '../../src/core/model.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import type { MigrationRow } from '../../src/store/store.js';
import { counterAdvances, readSerial } from '../qemu/qemu-harness.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import { assertOneQemuPerInstance, startQemuCluster, type QemuCluster } from './qemu-cluster.js';

/** The hot guest dirties 24 MiB at 400 MiB/s: at 8 MiB/s a 300 ms downtime can never be met. */
const NO_CONVERGE: Partial<MonitorPolicy> = { maxBandwidthMibps: 8, downtimeMs: 300 };

interface Running {
  readonly q: QemuCluster;
  readonly vm: Instance;
  readonly migrationId: number;
  /** Statuses the record went through, as polled. */
  readonly seen: string[];
  /** Resolves with the record once it reaches a terminal status. */
  readonly end: Promise<MigrationRow>;
}

async function startHotMigration(t: TestContext, policy: Partial<MonitorPolicy>): Promise<Running> {
  const q = await startQemuCluster(t, { policy: { ...NO_CONVERGE, ...policy } });
  const vm = await q.boot('hot', 'qa');
  await counterAdvances(q.driver('qa').serialLog(vm.uuid), 2);
  const m = await requestLiveMigration(q.cluster.requests, { instanceUuid: vm.uuid, host: 'qb', blockMigration: 'auto', projectId: 'p', userId: 'u' });
  const seen: string[] = [];
  const end = waitFor('migration to end', async () => {
    const r = (await q.cluster.store.repo.getMigration(m.id))!;
    if (seen.at(-1) !== r.status) seen.push(r.status);
    return isTerminal(r.status) ? r : undefined;
  }, 60_000, 20);
  end.catch(() => undefined);
  return { q, vm, migrationId: m.id, seen, end };
}

/** Waits until the source reports the copy under way (the record shows transferred bytes). */
async function copyUnderWay(r: Running): Promise<void> {
  await waitFor('progress on the record', async () => {
    const m = (await r.q.cluster.store.repo.getMigration(r.migrationId))!;
    if (isTerminal(m.status)) throw new Error(`migration ended ${m.status} before any progress: ${m.error}`);
    return m.status === 'running' && m.progress.memoryProcessed > 0;
  }, 20_000, 20);
}

/** Rolled back: the guest runs on the source without a reboot, its counter advancing; nothing left on the destination. */
async function assertBackOnSource(r: Running): Promise<void> {
  const { q, vm } = r;
  const inst = (await q.cluster.store.repo.getInstance(vm.uuid))!;
  assert.equal(inst.host, 'qa', 'the record names the source');
  assert.equal(inst.taskState, null);
  assert.deepEqual(await q.driver('qa').listGuests(), [{ uuid: vm.uuid, state: 'running' }]);
  const srcLog = q.driver('qa').serialLog(vm.uuid);
  await counterAdvances(srcLog, 3);
  assert.equal(readSerial(srcLog).boots, 1, 'the source guest never rebooted');
  assert.deepEqual(await q.driver('qb').listGuests(), []);
  assert.deepEqual(q.driver('qb').pids(), [], 'no destination QEMU process');
  assert.equal(existsSync(dirname(q.driver('qb').serialLog(vm.uuid))), false, 'no destination file');
  assert.deepEqual(await q.cluster.store.repo.listClaims('qb'), [], 'no claim left on the destination');
  const steps = await q.cluster.store.repo.listSteps(r.migrationId);
  for (const s of [Step.ROLLBACK_SOURCE, Step.ROLLBACK_DEST]) assert.ok(steps.some((x) => x.step === s && x.status === 'done'), `${s} ran`);
  await assertOneQemuPerInstance(q);
  await assertCleanAudit(q.cluster);
}

test('non-converging guest, timeout_action=abort: failed, the guest keeps running on the source, destination cleaned', async (t) => {
  const r = await startHotMigration(t, { completionTimeoutSPerGib: 15, timeoutAction: 'abort' });
  const m = await r.end;
  t.diagnostic(`abort on completion timeout (1.5 s): statuses ${r.seen.join(' > ')}; error: ${m.error}`);
  assert.equal(m.status, 'failed', m.error ?? '');
  assert.match(m.error!, /completion timeout/);
  assert.ok(!m.state.history.some((h) => h.status === 'running (post-copy)'));
  await assertBackOnSource(r);
});

test('non-converging guest, timeout_action=force_complete with post-copy permitted: completes through post-copy', async (t) => {
  const r = await startHotMigration(t, { completionTimeoutSPerGib: 15, timeoutAction: 'force_complete', permitPostCopy: true });
  const srcCounterBefore = readSerial(r.q.driver('qa').serialLog(r.vm.uuid)).counters.at(-1)!;
  const m = await r.end;
  const result = m.state.steps[Step.MIGRATE]?.result ?? {};
  t.diagnostic(`force-complete on completion timeout: history ${m.state.history.map((h) => h.status).join(' > ')}; result ${JSON.stringify(result)}`);
  assert.equal(m.status, 'completed', m.error ?? '');
  assert.equal(result.postcopy, true, 'the driver completed through post-copy');
  assert.equal(m.state.steps[Step.MIGRATE]?.result?.postcopy, true);
  const statuses = m.state.history.map((h) => h.status);
  assert.deepEqual(statuses, ['accepted', 'queued', 'preparing', 'running', 'running (post-copy)', 'post-migrating', 'completed']);
  const inst = (await r.q.cluster.store.repo.getInstance(r.vm.uuid))!;
  assert.equal(inst.host, 'qb');
  assert.deepEqual(await r.q.driver('qb').listGuests(), [{ uuid: r.vm.uuid, state: 'running' }]);
  assert.deepEqual(await r.q.driver('qa').listGuests(), []);
  const destLog = r.q.driver('qb').serialLog(r.vm.uuid);
  await counterAdvances(destLog, 3);
  const dest = readSerial(destLog);
  assert.equal(dest.boots, 0, 'the destination continued the guest');
  assert.ok(dest.counters[0]! > srcCounterBefore, `destination counter ${dest.counters[0]} continues past ${srcCounterBefore}`);
  await assertOneQemuPerInstance(r.q);
  await assertCleanAudit(r.q.cluster);
});

test('abort by request while running: cancelled, the guest runs on the source, destination cleaned', async (t) => {
  const r = await startHotMigration(t, {});
  await copyUnderWay(r);
  await requestMigrationAction(r.q.cluster.requests, r.vm.uuid, r.migrationId, 'abort');
  const m = await r.end;
  t.diagnostic(`abort by request: statuses ${r.seen.join(' > ')}; error: ${m.error}`);
  assert.equal(m.status, 'cancelled', m.error ?? '');
  const steps = await r.q.cluster.store.repo.listSteps(r.migrationId);
  assert.ok(steps.some((s) => s.step === Step.ABORT && s.status === 'done'), 'live_migration_abort was sent to the source');
  await assertBackOnSource(r);
});

test('destination QEMU killed during the migration: failed, rollback leaves the guest running on the source', async (t) => {
  const r = await startHotMigration(t, {});
  await copyUnderWay(r);
  const [destPid] = r.q.driver('qb').pids();
  assert.ok(destPid !== undefined, 'the destination QEMU runs');
  process.kill(destPid, 'SIGKILL');
  const m = await r.end;
  t.diagnostic(`destination killed: statuses ${r.seen.join(' > ')}; error: ${m.error}`);
  assert.equal(m.status, 'failed', m.error ?? '');
  await assertBackOnSource(r);
});

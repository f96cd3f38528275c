/**
 * Live migrations through the conductor with real QEMU guests (TCG, loopback): an idle guest, and a
 * dirtying guest that converges while the migration record shows its progress.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { isTerminal } from '../../src/core/migration-status.js';
import { Step } from '../../src/core/migration-steps.js';
import { liveMigrate, waitFor } from '../../src/services/cluster-ops.js';
import type { MigrationRow } from '../../src/store/store.js';
import { counterAdvances, lastCounter, readSerial } from '../qemu/qemu-harness.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import {
  assertOneQemuPerInstance, countersOf, HeldLog, startQemuCluster, STEADY_BANDWIDTH_MIBPS, STEADY_WARM_COUNTER, type QemuCluster,
} from './qemu-cluster.js';

/** The guest runs on the destination only, continuing the source's counter without a reboot. */
async function assertContinuesOnDest(q: QemuCluster, uuid: string, srcLog: HeldLog, srcPid: number): Promise<void> {
  assert.equal((await q.cluster.store.repo.getInstance(uuid))!.host, 'qb', 'the record names the destination');
  assert.deepEqual((await q.driver('qb').listGuests()).filter((g) => g.uuid === uuid), [{ uuid, state: 'running' }]);
  assert.deepEqual((await q.driver('qa').listGuests()).filter((g) => g.uuid === uuid), []);
  assert.equal(existsSync(`/proc/${srcPid}`), false, 'the source QEMU process is gone');
  assert.equal(existsSync(q.driver('qa').serialLog(uuid)), false, 'the source files are removed');
  const src = countersOf(srcLog.text());
  const srcLast = src.counters.at(-1)!;
  assert.equal(src.boots, 1);
  const destLog = q.driver('qb').serialLog(uuid);
  await counterAdvances(destLog, 3);
  const dest = readSerial(destLog);
  assert.equal(dest.boots, 0, 'the destination guest did not boot: it continued');
  assert.ok(dest.counters[0]! > srcLast && dest.counters[0]! <= srcLast + 2,
    `the destination counter continues the source's: source ended at ${srcLast}, destination starts at ${dest.counters[0]}`);
  await assertOneQemuPerInstance(q);
}

test('idle guest: migrates through the conductor, runs on the destination, source QEMU gone, counter continues', async (t) => {
  const q = await startQemuCluster(t);
  const vm = await q.boot('idle', 'qa');
  const other = await q.boot('idle', 'qb', 'bystander');
  const srcLog = new HeldLog(q.driver('qa').serialLog(vm.uuid));
  t.after(() => srcLog.close());
  await counterAdvances(q.driver('qa').serialLog(vm.uuid), 2);
  const [srcPid] = q.driver('qa').pids();
  const started = Date.now();
  const m = await liveMigrate(q.cluster.requests, vm.uuid, 'qb', 30_000);
  t.diagnostic(`idle 64 MiB migration through the conductor: ${Date.now() - started} ms end to end, ` +
    `QEMU downtime ${String(m.state.steps[Step.MIGRATE]?.result?.downtimeMs)} ms, total ${String(m.state.steps[Step.MIGRATE]?.result?.totalTimeMs)} ms`);
  assert.equal(m.status, 'completed', m.error ?? '');
  for (const s of await q.cluster.store.repo.listSteps(m.id)) assert.equal(s.status, 'done', `${s.step} done`);
  await assertContinuesOnDest(q, vm.uuid, srcLog, srcPid!);
  assert.deepEqual((await q.driver('qb').listGuests()).map((g) => g.uuid).sort(), [other.uuid, vm.uuid].sort());
  await assertCleanAudit(q.cluster);
});

test('dirtying guest that converges: completes, the record showed progress, downtime within the final limit', async (t) => {
  const downtimeMs = 300;
  const q = await startQemuCluster(t, { policy: { maxBandwidthMibps: STEADY_BANDWIDTH_MIBPS, downtimeMs } });
  const vm = await q.boot('steady', 'qa');
  const srcLog = new HeldLog(q.driver('qa').serialLog(vm.uuid));
  t.after(() => srcLog.close());
  await waitFor('the guest to write its whole region', async () => lastCounter(q.driver('qa').serialLog(vm.uuid)) >= STEADY_WARM_COUNTER, 20_000, 50);
  const [srcPid] = q.driver('qa').pids();
  const req = await requestLiveMigration(q.cluster.requests, { instanceUuid: vm.uuid, host: 'qb', blockMigration: 'auto', projectId: 'p', userId: 'u' });
  const seen: Pick<MigrationRow, 'status' | 'progress'>[] = [];
  const started = Date.now();
  const m = await waitFor('migration to end', async () => {
    const r = (await q.cluster.store.repo.getMigration(req.id))!;
    if (seen.at(-1)?.progress.memoryProcessed !== r.progress.memoryProcessed || seen.at(-1)?.status !== r.status) {
      seen.push({ status: r.status, progress: r.progress });
    }
    return isTerminal(r.status) ? r : undefined;
  }, 60_000, 50);
  const result = m.state.steps[Step.MIGRATE]?.result ?? {};
  t.diagnostic(`converging migration: ${Date.now() - started} ms end to end; driver result ${JSON.stringify(result)}; ` +
    `${seen.filter((s) => s.status === 'running').length} progress snapshots while running`);
  assert.equal(m.status, 'completed', m.error ?? '');
  const running = seen.filter((s) => s.status === 'running' && s.progress.memoryTotal > 0);
  assert.ok(running.length > 0, `the record showed progress while running: ${JSON.stringify(seen)}`);
  assert.ok(running.some((s) => s.progress.memoryProcessed > 0), 'bytes were transferred while running');
  assert.deepEqual(m.state.history.map((h) => h.status), ['accepted', 'queued', 'preparing', 'running', 'post-migrating', 'completed']);
  assert.equal(result.postcopy, false);
  assert.equal(typeof result.downtimeMs, 'number');
  assert.ok((result.totalTimeMs as number) > 1_000, `QEMU's total time ${String(result.totalTimeMs)} ms covers the copy`);
  assert.ok((result.downtimeMs as number) <= downtimeMs, `downtime ${String(result.downtimeMs)} ms within the final limit ${downtimeMs} ms`);
  assert.ok((result.passes as number) >= 2, `several pre-copy passes (${String(result.passes)})`);
  await assertContinuesOnDest(q, vm.uuid, srcLog, srcPid!);
  await assertCleanAudit(q.cluster);
});

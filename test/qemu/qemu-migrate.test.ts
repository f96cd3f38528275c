/** The qemu driver migrating a real TCG guest between two hosts over loopback: the successful paths. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Progress } from '../../src/core/migration-state.js';
import { counterAdvances, guestSpec, qemuPidsUnder, readSerial, twoHosts, waitFor, type Hosts } from './qemu-harness.js';
import type { GuestSpec } from '../../src/compute/driver-port.js';

const CPU = { cpuModel: 'qemu64', cpuFeatures: [] as string[] };

/** The full spec sequence on the driver; returns what the source printed last and the progress seen. */
async function migrateAtoB(h: Hosts, spec: GuestSpec, migrationId = 1) {
  await h.b.checkDestination(spec, CPU);
  await h.a.checkSource(spec);
  const incoming = await h.b.prepareIncoming(spec, migrationId);
  assert.match(incoming.uri, /^tcp:127\.0\.0\.1:\d+$/);
  assert.deepEqual(await h.b.prepareIncoming(spec, migrationId), incoming, 'a repeated prepare returns the same listener');
  assert.deepEqual(await h.b.listGuests(), [{ uuid: spec.uuid, state: 'incoming' }]);
  const progress: Progress[] = [];
  const req = { guest: spec, migrationId, destHost: 'b', incoming };
  const [result, again] = await Promise.all([h.a.migrate(req, (p) => progress.push(p)), h.a.migrate(req, () => {})]);
  assert.deepEqual(again, result, 'a repeated live_migration joins the running one');
  return { result, progress };
}

/** The destination continues the source's counter: no reboot, next value (a line may straddle the hosts). */
function assertCounterContinues(h: Hosts, uuid: string, srcLast: number): void {
  const dest = readSerial(h.b.serialLog(uuid));
  assert.equal(dest.boots, 0, 'the guest must not boot again on the destination');
  const first = dest.counters[0]!;
  assert.ok(first > srcLast && first <= srcLast + 2, `destination counter starts at ${first}, source ended at ${srcLast}`);
  for (let i = 1; i < dest.counters.length; i++) assert.equal(dest.counters[i], dest.counters[i - 1]! + 1);
}

async function finishAndVerify(h: Hosts, spec: GuestSpec): Promise<void> {
  const srcLog = readSerial(h.a.serialLog(spec.uuid));
  assert.equal(srcLog.boots, 1);
  const srcLast = srcLog.counters.at(-1)!;
  await assert.rejects(h.a.rollbackSource(spec.uuid), { code: 'MigrationSwitchedOver' }, 'no split brain after switch-over');
  await h.a.cleanupSource(spec.uuid);
  await h.a.cleanupSource(spec.uuid); // idempotent
  await h.b.finishIncoming(spec.uuid);
  await h.b.finishIncoming(spec.uuid);
  await counterAdvances(h.b.serialLog(spec.uuid), 3);
  assertCounterContinues(h, spec.uuid, srcLast);
  assert.deepEqual(await h.a.listGuests(), []);
  assert.deepEqual(await h.b.listGuests(), [{ uuid: spec.uuid, state: 'running' }]);
  assert.equal(existsSync(h.a.serialLog(spec.uuid)), false, 'source files removed');
  assert.deepEqual(qemuPidsUnder(h.root), h.b.pids(), 'one QEMU, on the destination');
}

test('idle guest migrates; destination continues the counter; source QEMU is gone', async () => {
  const h = twoHosts();
  try {
    const spec = guestSpec('idle');
    await h.a.spawn(spec);
    await h.a.spawn(spec); // idempotent
    assert.equal(qemuPidsUnder(h.root).length, 1);
    await counterAdvances(h.a.serialLog(spec.uuid), 3);
    const { result } = await migrateAtoB(h, spec);
    assert.equal(result.postcopy, false);
    assert.ok(result.totalTimeMs >= 0 && result.downtimeMs >= 0);
    // A rollback that arrives after the switch-over (the source died before reporting it) must not destroy
    // the only running copy.
    await assert.rejects(h.b.rollbackDestination(spec.uuid), { code: 'MigrationSwitchedOver', message: /refusing to destroy .*the guest arrived and runs here/ });
    assert.equal(h.b.pids().length, 1, 'the destination QEMU still runs');
    await finishAndVerify(h, spec);
  } finally {
    await h.close();
    assert.deepEqual(qemuPidsUnder(h.root), []);
  }
});

test('dirtying guest that converges completes with progress and downtime within the final limit', async () => {
  const h = twoHosts({ maxBandwidthMibps: 16, downtimeMs: 400 });
  try {
    const spec = guestSpec('converging');
    await h.a.spawn(spec);
    await counterAdvances(h.a.serialLog(spec.uuid), 3);
    const { result, progress } = await migrateAtoB(h, spec);
    assert.ok(progress.length > 0, 'progress was reported while the migration ran');
    const p = progress.at(-1)!;
    assert.ok(p.memoryTotal >= 64 * 1024 * 1024 && p.memoryProcessed > 0, `progress ${JSON.stringify(p)}`);
    // The 2 MiB working set was re-dirtied and re-sent: more passes and bytes than an idle guest (2, ~0.6 MB).
    assert.ok((result.passes as number) >= 3, `passes ${String(result.passes)}`);
    assert.ok((result.transferredBytes as number) > 2 * 2 * 1024 * 1024, `transferred ${String(result.transferredBytes)}`);
    assert.ok(result.downtimeMs <= 400, `downtime ${result.downtimeMs} ms`);
    await finishAndVerify(h, spec);
  } finally {
    await h.close();
    assert.deepEqual(qemuPidsUnder(h.root), []);
  }
});

test('unknown guests: typed InstanceNotFound; removals of absent guests succeed', async () => {
  const h = twoHosts();
  try {
    const spec = guestSpec('idle');
    await assert.rejects(h.a.checkSource(spec), { code: 'InstanceNotFound' });
    await assert.rejects(h.a.abortMigration(spec.uuid), { code: 'InstanceNotFound' });
    await assert.rejects(h.a.finishIncoming(spec.uuid), { code: 'InstanceNotFound' });
    await assert.rejects(h.a.migrate({ guest: spec, migrationId: 9, destHost: 'b', incoming: { uri: 'tcp:127.0.0.1:1' } }, () => {}),
      { code: 'InstanceNotFound' });
    await h.a.rollbackDestination(spec.uuid);
    await h.a.cleanupSource(spec.uuid);
    await h.a.destroy(spec.uuid);
    await assert.rejects(h.a.spawn({ ...spec, uuid: '../../etc' }), { code: 'InvalidRequest' });
    await h.a.spawn(spec);
    await assert.rejects(h.a.cleanupSource(spec.uuid), { code: 'InstanceInvalidState' }, 'a running guest is never cleaned up');
    await assert.rejects(h.a.prepareIncoming(spec, 3), { code: 'InstanceInvalidState' });
    await assert.rejects(h.a.checkDestination(spec, CPU), { code: 'MigrationPreCheckError' });
    await assert.rejects(h.b.checkDestination(spec, { cpuModel: 'Haswell', cpuFeatures: [] }), { code: 'InvalidCPUInfo' });
    await assert.rejects(h.b.checkDestination({ ...spec, memoryMb: 4096 }, CPU), { code: 'MigrationPreCheckError' });
    await h.a.destroy(spec.uuid);
    await waitFor('no QEMU', () => qemuPidsUnder(h.root).length === 0);
  } finally {
    await h.close();
  }
});

test('host resources report QEMU, its version and the configured capacity', async () => {
  const h = twoHosts();
  try {
    const r = await h.a.hostResources();
    assert.equal(r.hypervisorType, 'QEMU');
    assert.ok(r.hypervisorVersion >= 7_000_000, `version ${r.hypervisorVersion}`);
    assert.deepEqual([r.cpuModel, r.memoryMb, r.vcpus], ['qemu64', 1024, 2]);
  } finally {
    await h.close();
  }
});

/**
 * The qemu driver's failure paths with a real guest: completion timeout (abort, force-complete through
 * post-copy or pause), abort by request, and a destination QEMU that dies mid-migration. After each, the
 * guest runs on exactly one host and no QEMU process or file is left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Progress } from '../../src/core/migration-state.js';
import type { GuestSpec, IncomingInfo, MigrateResult } from '../../src/compute/driver-port.js';
import type { MonitorPolicy } from '../../src/compute/drivers/qemu/monitor-policy.js';
import { counterAdvances, guestSpec, lastCounter, qemuPidsUnder, readSerial, twoHosts, waitFor, type Hosts } from './qemu-harness.js';

/** The hot guest dirties 24 MiB at 400 MiB/s; at 8 MiB/s a 300 ms downtime can never be met. */
const NO_CONVERGE: Partial<MonitorPolicy> = { maxBandwidthMibps: 8, downtimeMs: 300 };

interface Started {
  readonly h: Hosts;
  readonly spec: GuestSpec;
  readonly incoming: IncomingInfo;
  readonly progress: Progress[];
  readonly migration: Promise<MigrateResult>;
}

async function startHotMigration(policy: Partial<MonitorPolicy>): Promise<Started> {
  const h = twoHosts({ ...NO_CONVERGE, ...policy });
  const spec = guestSpec('hot');
  await h.a.spawn(spec);
  await counterAdvances(h.a.serialLog(spec.uuid), 2);
  const incoming = await h.b.prepareIncoming(spec, 7);
  const progress: Progress[] = [];
  const migration = h.a.migrate({ guest: spec, migrationId: 7, destHost: 'b', incoming }, (p) => progress.push(p));
  migration.catch(() => undefined);
  return { h, spec, incoming, progress, migration };
}

/** The source guest still runs its own counter, and the destination left no process and no file. */
async function assertBackOnSource(s: Started): Promise<void> {
  const { h, spec } = s;
  await h.b.rollbackDestination(spec.uuid);
  await h.b.rollbackDestination(spec.uuid); // idempotent
  await h.a.rollbackSource(spec.uuid);
  await h.a.rollbackSource(spec.uuid);
  await counterAdvances(h.a.serialLog(spec.uuid), 3);
  assert.equal(readSerial(h.a.serialLog(spec.uuid)).boots, 1, 'the source guest never rebooted');
  assert.deepEqual(await h.a.listGuests(), [{ uuid: spec.uuid, state: 'running' }]);
  assert.deepEqual(await h.b.listGuests(), []);
  assert.equal(existsSync(dirname(h.b.serialLog(spec.uuid))), false, 'destination files removed');
  assert.deepEqual(qemuPidsUnder(h.root), h.a.pids(), 'only the source QEMU remains');
}

async function finishOnDestination(s: Started): Promise<void> {
  const { h, spec } = s;
  const srcLast = lastCounter(h.a.serialLog(spec.uuid));
  await h.a.cleanupSource(spec.uuid);
  await h.b.finishIncoming(spec.uuid);
  await counterAdvances(h.b.serialLog(spec.uuid), 3);
  const dest = readSerial(h.b.serialLog(spec.uuid));
  assert.equal(dest.boots, 0);
  assert.ok(dest.counters[0]! > srcLast && dest.counters[0]! <= srcLast + 2, `dest starts at ${dest.counters[0]}, source ended at ${srcLast}`);
  assert.deepEqual(qemuPidsUnder(h.root), h.b.pids(), 'only the destination QEMU remains');
}

async function withMigration(policy: Partial<MonitorPolicy>, body: (s: Started) => Promise<void>): Promise<void> {
  const s = await startHotMigration(policy);
  try {
    await body(s);
  } finally {
    await s.h.close();
    assert.deepEqual(qemuPidsUnder(s.h.root), [], 'no QEMU leaked');
  }
}

test('non-converging guest with timeout_action=abort fails and keeps running on the source', () =>
  withMigration({ completionTimeoutSPerGib: 15, timeoutAction: 'abort' }, async (s) => {
    await assert.rejects(s.migration, (err: { code: string; fields: { reason?: string } }) =>
      err.code === 'MigrationError' && err.fields.reason === 'timeout');
    assert.ok(s.progress.length > 0);
    assert.ok(s.progress.every((p) => !p.postcopy));
    await assertBackOnSource(s);
  }));

test('non-converging guest with force_complete and post-copy permitted completes through post-copy', () =>
  withMigration({ completionTimeoutSPerGib: 15, timeoutAction: 'force_complete', permitPostCopy: true }, async (s) => {
    assert.equal(s.incoming.postcopy, true, 'the destination supports post-copy (userfaultfd)');
    const result = await s.migration;
    assert.equal(result.postcopy, true);
    assert.ok(s.progress.some((p) => p.postcopy), 'progress reported the post-copy phase');
    await finishOnDestination(s);
  }));

test('force-complete without post-copy pauses the guest, completes, and the destination resumes it', () =>
  withMigration({}, async (s) => {
    await waitFor('progress', () => s.progress.length > 0);
    await s.h.a.forceComplete(s.spec.uuid);
    await s.h.a.forceComplete(s.spec.uuid);
    const result = await s.migration;
    assert.equal(result.postcopy, false);
    await finishOnDestination(s);
  }));

test('abort by request while running (auto-converge on): MigrationCancelled, guest runs on the source, destination cleaned', () =>
  withMigration({ permitAutoConverge: true }, async (s) => {
    await waitFor('progress', () => s.progress.length > 0);
    await s.h.a.abortMigration(s.spec.uuid);
    await s.h.a.abortMigration(s.spec.uuid);
    await assert.rejects(s.migration, { code: 'MigrationCancelled' });
    await assertBackOnSource(s);
  }));

test('destination QEMU killed mid-migration: migrate fails and rollback leaves the guest on the source', () =>
  withMigration({}, async (s) => {
    await waitFor('progress', () => s.progress.length > 0);
    const [destPid] = s.h.b.pids();
    process.kill(destPid!, 'SIGKILL');
    await assert.rejects(s.migration, { code: 'MigrationError' });
    await assertBackOnSource(s);
  }));

test('stall detection aborts a migration whose remaining RAM stops shrinking', () =>
  withMigration({ stallTimeoutS: 1.5 }, async (s) => {
    await assert.rejects(s.migration, (err: { code: string; fields: { reason?: string } }) =>
      err.code === 'MigrationError' && err.fields.reason === 'stall');
    await assertBackOnSource(s);
  }));

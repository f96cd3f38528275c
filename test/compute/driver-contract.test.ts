/**
 * The HypervisorDriver contract, run over every driver (fake, and QEMU under TCG): every step is safe to
 * repeat; the only running copy of a guest is never destroyed nor resumed a second time; a restarted agent
 * adopts its guests, including one whose migration is in flight, and decides from the hypervisor's facts;
 * listGuests reports what the hypervisor shows.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatonError } from '../../src/core/errors.js';
import type { GuestSpec, HypervisorDriver, IncomingInfo, MigrateRequest, MigrateResult } from '../../src/compute/driver-port.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { DRIVER_BACKENDS, type DriverEnv } from './driver-backends.js';

let nextMigration = 1;

async function withEnv(open: () => Promise<DriverEnv>, body: (env: DriverEnv) => Promise<void>): Promise<void> {
  const env = await open();
  try {
    await body(env);
  } finally {
    await env.close();
  }
}

async function stateOn(d: HypervisorDriver, uuid: string): Promise<string | undefined> {
  return (await d.listGuests()).find((g) => g.uuid === uuid)?.state;
}

/** Spawns on a and prepares b: the request that migrates the guest from a to b. */
async function prepared(env: DriverEnv, spec: GuestSpec): Promise<MigrateRequest> {
  await env.a.spawn(spec);
  await env.warmUp(spec.uuid);
  const migrationId = nextMigration++;
  const incoming: IncomingInfo = await env.b.prepareIncoming(spec, migrationId);
  return { guest: spec, migrationId, destHost: 'b', incoming };
}

function isSwitchedOver(host: string, uuid: string) {
  return (e: unknown) => e instanceof BatonError && e.code === 'MigrationSwitchedOver' && e.fields['host'] === host
    && e.fields['uuid'] === uuid && typeof e.fields['evidence'] === 'string';
}

/** The post steps: afterwards the guest runs on b only, and a has nothing left of it. */
async function finishOnB(env: DriverEnv, uuid: string): Promise<void> {
  await env.a.cleanupSource(uuid);
  await env.b.finishIncoming(uuid);
  assert.equal(await stateOn(env.a, uuid), undefined);
  assert.equal(await stateOn(env.b, uuid), 'running');
  assert.deepEqual(await env.runningOn(uuid), ['b']);
}

for (const backend of DRIVER_BACKENDS) {
  describe(`HypervisorDriver contract: ${backend.name}`, { skip: backend.skip }, () => {
    test('listGuests reports running, incoming, migrating and postmigrate as the hypervisor shows them', () => withEnv(backend.open, async (env) => {
      const spec = env.heldGuest();
      const req = await prepared(env, spec);
      assert.deepEqual(await env.a.listGuests(), [{ uuid: spec.uuid, state: 'running' }]);
      assert.deepEqual(await env.b.listGuests(), [{ uuid: spec.uuid, state: 'incoming' }]);
      env.hold();
      const copy = env.a.migrate(req, () => undefined);
      await waitFor('the copy in flight', async () => (await stateOn(env.a, spec.uuid)) === 'migrating', 15_000, 20);
      await env.letCopyFinish(spec.uuid);
      await copy;
      assert.equal(await stateOn(env.a, spec.uuid), 'postmigrate');
      await finishOnB(env, spec.uuid);
    }));

    test('every step can be repeated: the same effect, no error', () => withEnv(backend.open, async (env) => {
      const spec = env.quickGuest();
      await env.a.spawn(spec);
      const req = await prepared(env, spec);
      assert.deepEqual(await env.b.prepareIncoming(spec, req.migrationId), req.incoming, 'a repeated prepare answers the same address');
      const [r1, r2] = await Promise.all([env.a.migrate(req, () => undefined), env.a.migrate(req, () => undefined)]);
      assert.deepEqual(r1, r2, 'a repeated migrate joins the copy');
      const again: MigrateResult = await env.a.migrate(req, () => undefined);
      assert.equal(again.postcopy, r1.postcopy, 'a migrate repeated after completion reports it');
      await env.a.abortMigration(spec.uuid);
      await env.a.abortMigration(spec.uuid);
      await env.a.cleanupSource(spec.uuid);
      await env.a.cleanupSource(spec.uuid);
      await env.b.finishIncoming(spec.uuid);
      await env.b.finishIncoming(spec.uuid);
      assert.deepEqual(await env.runningOn(spec.uuid), ['b']);
      // The rollback path, each step twice: nothing was copied, the guest runs on the source once.
      const back = await prepared(env, env.quickGuest());
      await env.b.rollbackDestination(back.guest.uuid);
      await env.b.rollbackDestination(back.guest.uuid);
      await env.a.rollbackSource(back.guest.uuid);
      await env.a.rollbackSource(back.guest.uuid);
      assert.equal(await stateOn(env.b, back.guest.uuid), undefined);
      assert.deepEqual(await env.runningOn(back.guest.uuid), ['a']);
      await env.b.destroy(spec.uuid);
      await env.b.destroy(spec.uuid);
      assert.deepEqual(await env.b.listGuests(), []);
    }));

    test('after switch-over, rollback on either side refuses with MigrationSwitchedOver and the guest runs once', () => withEnv(backend.open, async (env) => {
      const spec = env.quickGuest();
      const req = await prepared(env, spec);
      await env.a.migrate(req, () => undefined);
      await assert.rejects(env.b.rollbackDestination(spec.uuid), isSwitchedOver('b', spec.uuid), 'the arrived guest is the only running copy');
      await assert.rejects(env.a.rollbackSource(spec.uuid), isSwitchedOver('a', spec.uuid), 'the source must not be resumed');
      await assert.rejects(env.a.rollbackSource(spec.uuid), isSwitchedOver('a', spec.uuid));
      assert.equal(await stateOn(env.a, spec.uuid), 'postmigrate');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await env.runningOn(spec.uuid), ['b'], 'running on the destination only');
      await finishOnB(env, spec.uuid);
    }));

    test('an abort during the copy cancels it; rollback leaves the guest running on the source only', () => withEnv(backend.open, async (env) => {
      const spec = env.heldGuest();
      const req = await prepared(env, spec);
      env.hold();
      const copy = env.a.migrate(req, () => undefined);
      copy.catch(() => undefined);
      await waitFor('the copy in flight', async () => (await stateOn(env.a, spec.uuid)) === 'migrating', 15_000, 20);
      await env.a.abortMigration(spec.uuid);
      await env.a.abortMigration(spec.uuid);
      await env.letCopyFinish(spec.uuid).catch(() => undefined);
      await assert.rejects(copy, { code: 'MigrationCancelled' });
      await env.b.rollbackDestination(spec.uuid);
      await env.a.rollbackSource(spec.uuid);
      assert.equal(await stateOn(env.b, spec.uuid), undefined);
      assert.equal(await stateOn(env.a, spec.uuid), 'running');
      assert.deepEqual(await env.runningOn(spec.uuid), ['a']);
    }));

    test('a restarted agent adopts its guests as the hypervisor shows them', () => withEnv(backend.open, async (env) => {
      const spec = env.quickGuest();
      await env.a.spawn(spec);
      const a = await env.restartA();
      assert.deepEqual(await a.listGuests(), [{ uuid: spec.uuid, state: 'running' }]);
      assert.deepEqual(await env.runningOn(spec.uuid), ['a']);
      await a.spawn(spec);
      assert.deepEqual(await a.listGuests(), [{ uuid: spec.uuid, state: 'running' }], 'spawn of an adopted guest changes nothing');
    }));

    test('a restart with the migration in flight: migrate() for the same migration ends it from the facts, once', () => withEnv(backend.open, async (env) => {
      const spec = env.heldGuest();
      const req = await prepared(env, spec);
      env.hold();
      void env.a.migrate(req, () => undefined).catch(() => undefined);
      await waitFor('the copy in flight', async () => (await stateOn(env.a, spec.uuid)) === 'migrating', 15_000, 20);
      const a = await env.restartA();
      // QEMU kept copying while no agent watched; the fake's copy died with its process.
      assert.equal(await stateOn(a, spec.uuid), backend.name === 'qemu' ? 'migrating' : 'running');
      assert.deepEqual(await env.runningOn(spec.uuid), ['a']);
      const resumed = a.migrate(req, () => undefined);
      await env.letCopyFinish(spec.uuid);
      const result = await resumed;
      assert.ok(result.totalTimeMs >= 0);
      assert.equal(await stateOn(a, spec.uuid), 'postmigrate');
      await assert.rejects(a.rollbackSource(spec.uuid), isSwitchedOver('a', spec.uuid));
      await finishOnB(env, spec.uuid);
    }));

    test('a restart after the copy completed: migrate() reports the completion, rollback refuses', () => withEnv(backend.open, async (env) => {
      const spec = env.quickGuest();
      const req = await prepared(env, spec);
      await env.a.migrate(req, () => undefined);
      const a = await env.restartA();
      assert.equal(await stateOn(a, spec.uuid), 'postmigrate');
      const result = await a.migrate(req, () => undefined);
      assert.equal(result.postcopy, false);
      await assert.rejects(a.rollbackSource(spec.uuid), isSwitchedOver('a', spec.uuid));
      await assert.rejects(a.migrate({ ...req, migrationId: req.migrationId + 1000 }, () => undefined), BatonError,
        'a guest that left is not migrated again');
      await finishOnB(env, spec.uuid);
    }));

    const pause = backend.pauseUnwatched;
    if (pause) {
      test('a copy that completes while no agent watches: the new agent reports it from QEMU and never resumes the source', () =>
        withEnv(backend.open, async (env) => {
          const spec = env.heldGuest();
          const req = await prepared(env, spec);
          void env.a.migrate(req, () => undefined).catch(() => undefined);
          await waitFor('the copy in flight', async () => (await stateOn(env.a, spec.uuid)) === 'migrating', 15_000, 20);
          await env.a.close();
          // Nobody follows the copy now; paused, the guest stops dirtying memory and QEMU completes it alone.
          await pause(env, spec.uuid);
          await waitFor('the unwatched copy to complete', async () => (await env.runningOn(spec.uuid)).length === 0
            && (await stateOn(env.b, spec.uuid)) !== 'incoming', 20_000, 50);
          const a = await env.restartA();
          assert.equal(await stateOn(a, spec.uuid), 'postmigrate');
          const result = await a.migrate(req, () => undefined);
          assert.ok(result.totalTimeMs > 0, `QEMU's own total time: ${result.totalTimeMs}`);
          await assert.rejects(a.rollbackSource(spec.uuid), isSwitchedOver('a', spec.uuid));
          await finishOnB(env, spec.uuid);
        }));
    }
  });
}

/** Builds and deletes left half done (a conductor that died, a lost cast) are finished by the conductor's rescan. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ComputeMethod } from '../../src/rpc/compute-api.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { setTimeout as delay } from 'node:timers/promises';
import { bootOn, startFixture, whereIs, type Fixture } from '../support/embedded-fixture.js';

let f: Fixture;
const startGraceMs = 200;
before(async () => { f = await startFixture({ conductor: { tickMs: 20, startGraceMs } }); });
after(async () => f.stop());

test('a BUILD instance placed on a host whose spawn was lost is spawned by the rescan, once', async () => {
  const repo = f.cluster.store.repo;
  const at = Date.now() - 10 * startGraceMs;
  const uuid = randomUUID();
  // What a conductor that died between placement and spawn leaves behind.
  await repo.insertInstance({ uuid, name: 'lost-spawn', host: 'host-b', vmState: 'building', taskState: 'spawning', powerState: 0,
    flavorId: '1', imageRef: 'cirros', projectId: 'demo', userId: 'demo', createdAt: at, updatedAt: at });
  const spawns = () => f.trace.filter((r) => r.to === 'compute.host-b' && r.method === ComputeMethod.SPAWN && r.kind === 'call').length;
  const before = spawns();
  const active = await waitFor('the rescan to spawn it', async () => {
    const i = await repo.getInstance(uuid);
    return i?.vmState === 'active' ? i : undefined;
  }, 5_000);
  assert.deepEqual([active.host, active.taskState, active.powerState], ['host-b', null, 1]);
  assert.deepEqual(await whereIs(f, uuid), { 'host-b': 'running' });
  await delay(5 * startGraceMs);
  assert.equal(spawns() - before, 1, 'spawned once, not on every tick');
});

test('a delete whose cast was lost completes after the rescan: record and guest gone', async () => {
  const repo = f.cluster.store.repo;
  const vm = await bootOn(f, 'host-c', 'lost-delete');
  // The API's half of a delete, without its cast reaching any conductor.
  await repo.updateInstance(vm.uuid, { taskState: 'deleting', updatedAt: Date.now() - 10 * startGraceMs });
  await waitFor('the rescan to delete it', async () => (await repo.getInstance(vm.uuid)) === undefined, 5_000);
  assert.deepEqual(await whereIs(f, vm.uuid), {});
});

test('a record touched within the grace period is left to the request still handling it', async () => {
  const repo = f.cluster.store.repo;
  const vm = await bootOn(f, 'host-a', 'fresh-delete');
  await repo.updateInstance(vm.uuid, { taskState: 'deleting', updatedAt: Date.now() + 60_000 });
  await delay(5 * startGraceMs);
  assert.equal((await repo.getInstance(vm.uuid))?.taskState, 'deleting', 'not taken before its grace period ran out');
  assert.equal((await whereIs(f, vm.uuid))['host-a'], 'running');
});

/**
 * A spawn call that gets no answer (request or reply lost, as under message faults) is not a failed build: the
 * instance stays building and the rescan asks the host again; spawn is idempotent, so the guest boots once.
 * A build that never gets an answer ends in error at its deadline instead of staying BUILD forever.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestCreateServer } from '../../src/api/server-request.js';
import { ComputeMethod } from '../../src/rpc/compute-api.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { startFixture, whereIs, type Fixture } from '../support/embedded-fixture.js';
import { assertCleanAudit } from '../support/clean-audit.js';

let f: Fixture;
const callTimeoutMs = 300;
const startGraceMs = 200;
before(async () => { f = await startFixture({ conductor: { tickMs: 20, startGraceMs, callTimeoutMs } }); });
after(async () => f.stop());

const spawnTo = (host: string) => (topic: string, msg: { method: string }) => topic === `compute.${host}` && msg.method === ComputeMethod.SPAWN;

test('a spawn lost once: the instance stays building, the rescan spawns it, it becomes ACTIVE with one guest', async () => {
  const release = f.cluster.bus.hold(spawnTo('host-a'));
  const states: string[] = [];
  let inst;
  try {
    inst = await requestCreateServer(f.cluster.requests, { name: 'lost-reply', flavorRef: 'm1.tiny', imageRef: 'cirros', host: 'host-a',
      projectId: 'demo', userId: 'demo' });
    // Past the call's deadline: the first spawn went unanswered.
    await waitFor('the spawn call to time out', async () => f.logs.some((l) => l.includes(`spawning ${inst!.uuid} on host-a: no answer`)), 5_000);
    states.push((await f.cluster.store.repo.getInstance(inst.uuid))!.vmState);
  } finally {
    release();
  }
  const active = await waitFor('the rescan to spawn it', async () => {
    const i = await f.cluster.store.repo.getInstance(inst.uuid);
    if (i?.vmState === 'error') throw new Error('the build ended in error');
    return i?.vmState === 'active' ? i : undefined;
  }, 10_000, 10);
  assert.deepEqual(states, ['building'], 'a lost answer did not fail the build');
  assert.equal(active.host, 'host-a');
  assert.deepEqual(await whereIs(f, inst.uuid), { 'host-a': 'running' });
  await assertCleanAudit(f.cluster);
});

test('a build that never gets an answer ends in error at its deadline, not BUILD forever', async () => {
  const release = f.cluster.bus.hold(spawnTo('host-b'));
  try {
    const inst = await requestCreateServer(f.cluster.requests, { name: 'never-answered', flavorRef: 'm1.tiny', imageRef: 'cirros',
      host: 'host-b', projectId: 'demo', userId: 'demo' });
    const ended = await waitFor('the build deadline', async () => {
      const i = await f.cluster.store.repo.getInstance(inst.uuid);
      return i?.vmState === 'error' ? i : undefined;
    }, 15_000, 20);
    assert.ok(ended.updatedAt - ended.createdAt > 5 * callTimeoutMs, 'given several spawn attempts first');
    assert.ok(f.logs.some((l) => l.includes(`instance ${inst.uuid} is still building on host-b`)));
  } finally {
    release();
  }
});

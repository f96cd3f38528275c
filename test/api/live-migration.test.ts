/** os-migrateLive per microversion, the Nova error codes, and server migrations: list, show, abort, force-complete. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance } from '../../src/core/model.js';
import { waitFor, waitForMigration } from '../../src/services/cluster-ops.js';
import { startHarness, type Harness } from './api-harness.js';

let h: Harness;
before(async () => { h = await startHarness(); });
after(async () => { await h.close(); });

const migrate = (id: string, args: unknown, version: string, token = h.adminToken) =>
  h.call('POST', `/v2.1/servers/${id}/action`, { token, version, body: { 'os-migrateLive': args } });

async function latestMigration(inst: Instance) {
  return waitFor('a migration', async () => (await h.cluster.store.repo.listMigrations({ instanceUuid: inst.uuid }))[0]);
}

async function runningMigration(inst: Instance, version = '2.80') {
  const m = await latestMigration(inst);
  await waitFor('running', async () => (await h.cluster.store.repo.getMigration(m.id))?.status === 'running', 10_000);
  return { m, path: `/v2.1/servers/${inst.uuid}/migrations/${m.id}`, version };
}

test('the body schema follows the microversion', async () => {
  const inst = await h.boot('schema-vm', 'compute-1');
  const cases: [string, unknown, number][] = [
    ['2.1', { host: null, block_migration: false }, 400],
    ['2.1', { host: null, block_migration: 'auto', disk_over_commit: false }, 400],
    ['2.24', { host: null, block_migration: 'auto', disk_over_commit: false }, 400],
    ['2.25', { host: null, block_migration: 'auto', disk_over_commit: false }, 400],
    ['2.25', { host: null, block_migration: 'auto', force: false }, 400],
    ['2.30', { host: null, block_migration: 'yes' }, 400],
    ['2.68', { host: 'compute-2', block_migration: 'auto', force: true }, 400],
    ['2.30', { host: 'bad host!', block_migration: false }, 400],
    ['2.30', { block_migration: false }, 400],
  ];
  for (const [v, body, status] of cases) assert.equal((await migrate(inst.uuid, body, v)).status, status, `${v} ${JSON.stringify(body)}`);
  assert.equal((await h.call('POST', `/v2.1/servers/${inst.uuid}/action`, { token: h.adminToken, body: { reboot: {} } })).status, 400);
  assert.equal((await h.cluster.store.repo.listMigrations({ instanceUuid: inst.uuid })).length, 0, 'no rejected body created a migration');
});

for (const [v, body] of [
  ['2.1', { host: 'compute-2', block_migration: 'False', disk_over_commit: false }],
  ['2.25', { host: null, block_migration: 'auto' }],
  ['2.30', { host: 'compute-3', block_migration: true, force: 'True' }],
  ['2.68', { host: null, block_migration: false }],
] as const) {
  test(`os-migrateLive at ${v} answers 202 and the conductor completes it`, async () => {
    const inst = await h.boot(`mig-${v}`, 'compute-1');
    const r = await migrate(inst.uuid, body, v);
    assert.equal(r.status, 202, r.text);
    const m = await waitForMigration(h.cluster.store, (await latestMigration(inst)).id);
    assert.equal(m.status, 'completed');
    const after = (await h.cluster.store.repo.getInstance(inst.uuid))!;
    if (body.host) assert.equal(after.host, body.host);
    else assert.notEqual(after.host, 'compute-1');
  });
}

test('Nova error codes: 404 unknown server, 400 unknown host or self, 403 for a member, 409 while migrating', async () => {
  const inst = await h.boot('codes-vm', 'compute-2');
  const body = { host: 'compute-3', block_migration: 'auto' };
  assert.equal((await migrate('00000000-0000-0000-0000-000000000000', body, '2.25')).status, 404);
  const unknown = await migrate(inst.uuid, { host: 'compute-9', block_migration: 'auto' }, '2.25');
  assert.equal(unknown.status, 400);
  assert.match(unknown.json.badRequest.message, /compute-9/);
  assert.equal((await migrate(inst.uuid, { host: 'compute-2', block_migration: 'auto' }, '2.25')).status, 400);
  const denied = await migrate(inst.uuid, body, '2.25', h.demoToken);
  assert.equal(denied.status, 403);
  assert.equal(denied.json.forbidden.code, 403);
  h.slowHost('compute-2', 2);
  assert.equal((await migrate(inst.uuid, body, '2.25')).status, 202);
  const busy = await migrate(inst.uuid, body, '2.25');
  assert.equal(busy.status, 409);
  assert.equal(busy.json.conflictingRequest.code, 409);
  await waitForMigration(h.cluster.store, (await latestMigration(inst)).id);
  h.slowHost('compute-2', 0);
});

test('server migrations list and show the in-progress one with memory and disk bytes', async () => {
  const inst = await h.boot('progress-vm', 'compute-3');
  h.slowHost('compute-3', 2, 0.5);
  assert.equal((await migrate(inst.uuid, { host: 'compute-1', block_migration: 'auto' }, '2.25')).status, 202);
  const { m, path } = await runningMigration(inst);
  const shown = await waitFor('progress', async () => {
    const r = await h.call('GET', path, { token: h.adminToken, version: '2.80' });
    return r.status === 200 && r.json.migration.memory_processed_bytes > 0 ? r.json.migration : undefined;
  }, 10_000, 50);
  assert.equal(shown.memory_total_bytes, 2048 * 1024 * 1024);
  assert.equal(shown.uuid, m.uuid);
  assert.equal(shown.disk_total_bytes, 0);
  assert.equal(shown.project_id, 'admin');
  const list = await h.call('GET', `/v2.1/servers/${inst.uuid}/migrations`, { token: h.adminToken, version: '2.23' });
  assert.equal(list.json.migrations.length, 1);
  assert.equal(list.json.migrations[0].uuid, undefined, 'uuid appears at 2.59');
  assert.equal((await h.call('GET', path, { token: h.demoToken, version: '2.80' })).status, 403);
  await waitForMigration(h.cluster.store, m.id);
  assert.equal((await h.call('GET', path, { token: h.adminToken, version: '2.80' })).status, 404, 'a finished migration is not in progress');
  h.slowHost('compute-3', 0);
});

test('abort cancels a running migration; abort or force-complete in the wrong status is a 400', async () => {
  const inst = await h.boot('abort-vm', 'compute-1');
  h.slowHost('compute-1', 3);
  await migrate(inst.uuid, { host: 'compute-2', block_migration: 'auto' }, '2.25');
  const { m, path } = await runningMigration(inst);
  assert.equal((await h.call('DELETE', path, { token: h.adminToken, version: '2.23' })).status, 404, 'abort starts at 2.24');
  assert.equal((await h.call('DELETE', path, { token: h.demoToken, version: '2.24' })).status, 403);
  assert.equal((await h.call('DELETE', path, { token: h.adminToken, version: '2.24' })).status, 202);
  assert.equal((await waitForMigration(h.cluster.store, m.id)).status, 'cancelled');
  assert.equal((await h.cluster.store.repo.getInstance(inst.uuid))!.host, 'compute-1');
  const again = await h.call('DELETE', path, { token: h.adminToken, version: '2.65' });
  assert.equal(again.status, 400);
  assert.equal(again.json.badRequest.code, 400);
  const fc = await h.call('POST', `${path}/action`, { token: h.adminToken, version: '2.22', body: { force_complete: null } });
  assert.equal(fc.status, 400);
  assert.equal((await h.call('DELETE', `/v2.1/servers/${inst.uuid}/migrations/999`, { token: h.adminToken, version: '2.24' })).status, 404);
  h.slowHost('compute-1', 0);
});

test('force_complete (2.22) finishes a running migration', async () => {
  const inst = await h.boot('force-vm', 'compute-2');
  h.slowHost('compute-2', 2, 0.9);
  await migrate(inst.uuid, { host: 'compute-3', block_migration: 'auto' }, '2.25');
  const { m, path } = await runningMigration(inst);
  assert.equal((await h.call('POST', `${path}/action`, { token: h.adminToken, version: '2.21', body: { force_complete: null } })).status, 404);
  assert.equal((await h.call('POST', `${path}/action`, { token: h.adminToken, version: '2.22', body: { force_complete: 1 } })).status, 400);
  assert.equal((await h.call('POST', `${path}/action`, { token: h.adminToken, version: '2.22', body: { force_complete: null } })).status, 202);
  assert.equal((await waitForMigration(h.cluster.store, m.id, 15_000)).status, 'completed');
  assert.equal((await h.cluster.store.repo.getInstance(inst.uuid))!.host, 'compute-3');
  h.slowHost('compute-2', 0);
});

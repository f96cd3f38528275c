/** os-migrations (filters, paging, per-version fields), instance actions with journal events, and the journal endpoint. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance } from '../../src/core/model.js';
import type { MigrationRow } from '../../src/store/store.js';
import { liveMigrate } from '../../src/services/cluster-ops.js';
import { startHarness, type Harness } from './api-harness.js';

let h: Harness;
let vm: Instance;
let other: Instance;
const done: MigrationRow[] = [];
before(async () => {
  h = await startHarness();
  vm = await h.boot('rec-vm', 'compute-1');
  other = await h.boot('rec-other', 'compute-3');
  done.push(await liveMigrate(h.cluster.requests, vm.uuid, 'compute-2'));
  done.push(await liveMigrate(h.cluster.requests, vm.uuid, 'compute-1'));
  done.push(await liveMigrate(h.cluster.requests, other.uuid, 'compute-2'));
});
after(async () => { await h.close(); });

const list = async (query: string, version: string) => {
  const r = await h.call('GET', `/v2.1/os-migrations${query}`, { token: h.adminToken, version });
  assert.equal(r.status, 200, r.text);
  return r.json.migrations as Record<string, unknown>[];
};

test('fields follow the microversion; old/new_instance_type_id are always there', async () => {
  const [old] = await list('', '2.22');
  assert.equal(old!['migration_type'], undefined);
  assert.equal(old!['uuid'], undefined);
  assert.equal(old!['old_instance_type_id'], 2);
  assert.equal(old!['new_instance_type_id'], 2);
  const [mid] = await list('', '2.23');
  assert.equal(mid!['migration_type'], 'live-migration');
  const [cur] = await list('', '2.80');
  assert.equal(cur!['uuid'], done[2]!.uuid, 'newest first');
  assert.equal(cur!['user_id'], 'demo');
});

test('filters: instance_uuid, host, source_compute, status, migration_type', async () => {
  assert.equal((await list(`?instance_uuid=${vm.uuid}`, '2.23')).length, 2);
  assert.equal((await list('?host=compute-3', '2.23')).length, 1);
  assert.equal((await list('?source_compute=compute-2', '2.23')).length, 1);
  assert.equal((await list('?status=completed', '2.23')).length, 3);
  assert.equal((await list('?status=running', '2.23')).length, 0);
  assert.equal((await list('?migration_type=resize', '2.23')).length, 0);
});

test('paging with limit and marker from 2.59; changes-since and changes-before', async () => {
  const first = await list('?limit=2', '2.59');
  assert.equal(first.length, 2);
  const rest = await list(`?limit=2&marker=${String(first[1]!['uuid'])}`, '2.59');
  assert.deepEqual(rest.map((m) => m['id']), [done[0]!.id]);
  assert.equal((await list('?limit=1', '2.58')).length, 3, 'limit is ignored before 2.59');
  const bad = await h.call('GET', '/v2.1/os-migrations?marker=nope', { token: h.adminToken, version: '2.59' });
  assert.equal(bad.status, 400);
  assert.equal((await h.call('GET', '/v2.1/os-migrations?limit=-1', { token: h.adminToken, version: '2.59' })).status, 400);
  assert.equal((await h.call('GET', '/v2.1/os-migrations?changes-since=yesterday', { token: h.adminToken, version: '2.59' })).status, 400);
  const future = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await list(`?changes-since=${future}`, '2.59')).length, 0);
  assert.equal((await list('?changes-before=2000-01-01T00:00:00Z', '2.66')).length, 0);
  assert.equal((await list('?changes-before=2000-01-01T00:00:00Z', '2.65')).length, 3, 'changes-before starts at 2.66');
});

test('os-migrations is admin-only by default', async () => {
  const r = await h.call('GET', '/v2.1/os-migrations', { token: h.demoToken });
  assert.equal(r.status, 403);
});

test('instance actions list the live migrations; their events are the journal steps', async () => {
  const r = await h.call('GET', `/v2.1/servers/${vm.uuid}/os-instance-actions`, { token: h.adminToken, version: '2.58' });
  assert.equal(r.status, 200);
  const actions = r.json.instanceActions as { action: string; request_id: string; updated_at?: string }[];
  assert.deepEqual(actions.map((a) => a.action), ['live-migration', 'live-migration', 'create']);
  assert.ok(actions[0]!.updated_at);
  const show = await h.call('GET', `/v2.1/servers/${vm.uuid}/os-instance-actions/${actions[1]!.request_id}`, { token: h.adminToken, version: '2.62' });
  const events = show.json.instanceAction.events as { event: string; result: string; host: string }[];
  assert.ok(events.some((e) => e.event === 'compute_live_migration' && e.result === 'Success' && e.host === 'compute-1'));
  assert.ok(events.some((e) => e.event === 'compute_pre_live_migration'));
  assert.equal((await h.call('GET', `/v2.1/servers/${vm.uuid}/os-instance-actions/req-nope`, { token: h.adminToken })).status, 404);
});

test('GET /v2.1/baton/migrations/{id}/journal has the steps, status history and error/leftovers', async () => {
  for (const key of [String(done[0]!.id), done[0]!.uuid]) {
    const r = await h.call('GET', `/v2.1/baton/migrations/${key}/journal`, { token: h.adminToken });
    assert.equal(r.status, 200, r.text);
    const j = r.json.migration;
    assert.equal(j.status, 'completed');
    assert.deepEqual(j.history.map((x: { status: string }) => x.status).slice(-1), ['completed']);
    assert.ok(j.steps.length >= 6);
    assert.deepEqual(j.leftovers, []);
    assert.equal(j.error, null);
  }
  assert.equal((await h.call('GET', '/v2.1/baton/migrations/999/journal', { token: h.adminToken })).status, 404);
  assert.equal((await h.call('GET', `/v2.1/baton/migrations/${done[0]!.id}/journal`, { token: h.demoToken })).status, 403);
});

/**
 * /v2.1/baton/hosts/{host}/drain (admin): a drain disables the host and moves every instance off it,
 * within the limits; GET follows it, DELETE cancels it (queued migrations aborted). Also the queue as the
 * journal shows it, and Nova's rule for aborting a queued migration (2.65).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DrainReply, DrainView } from '../../src/api/http/drain-view.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import { startHarness, type Harness } from './api-harness.js';

let h: Harness;
before(async () => { h = await startHarness(); });
after(async () => {
  await assertCleanAudit(h.cluster);
  await h.close();
});

const drainPath = (host: string) => `/v2.1/baton/hosts/${host}/drain`;

async function drainOf(host: string): Promise<DrainView> {
  const r = await h.call('GET', drainPath(host), { token: h.adminToken });
  assert.equal(r.status, 200, r.text);
  return (r.json as DrainReply).drain;
}

async function drainEnd(host: string): Promise<DrainView> {
  return waitFor(`the drain of ${host} to end`, async () => {
    const d = await drainOf(host);
    return ['drained', 'blocked', 'cancelled'].includes(d.status) ? d : undefined;
  }, 30_000, 50);
}

test('drains are admin only; an unknown host, or a host never drained, is a 404', async () => {
  for (const method of ['POST', 'GET', 'DELETE']) {
    assert.equal((await h.call(method, drainPath('compute-1'))).status, 401, method);
    const member = await h.call(method, drainPath('compute-1'), { token: h.demoToken });
    assert.equal(member.status, 403, method);
    assert.match(member.json.forbidden.message, /baton:hosts:drain:(create|show|delete)/);
  }
  assert.equal((await h.call('POST', drainPath('nope'), { token: h.adminToken })).status, 404);
  assert.equal((await h.call('GET', drainPath('compute-1'), { token: h.adminToken })).status, 404);
  assert.equal((await h.call('DELETE', drainPath('compute-1'), { token: h.adminToken })).status, 404);
  const bad = await h.call('POST', drainPath('compute-1'), { token: h.adminToken, body: { drain: { why: 'x' } } });
  assert.equal(bad.status, 400, bad.text);
});

test('a drain disables the host and moves every instance off it, one at a time; the host stays disabled', async () => {
  const vms = await Promise.all([0, 1, 2].map((i) => h.boot(`drain-me-${i}`, 'compute-1')));
  const r = await h.call('POST', drainPath('compute-1'), { token: h.adminToken, body: { drain: { reason: 'kernel upgrade' } } });
  assert.equal(r.status, 202, r.text);
  const started = (r.json as DrainReply).drain;
  assert.deepEqual([started.host, started.status, started.reason], ['compute-1', 'running', 'kernel upgrade']);
  const svc = await h.call('GET', '/v2.1/os-services?host=compute-1', { token: h.adminToken, version: '2.53' });
  assert.deepEqual([svc.json.services[0].status, svc.json.services[0].disabled_reason], ['disabled', 'kernel upgrade']);
  const again = await h.call('POST', drainPath('compute-1'), { token: h.adminToken });
  assert.equal(again.status, 202, 'a second request while it runs returns the same drain');
  assert.equal((again.json as DrainReply).drain.created_at, started.created_at);

  const end = await drainEnd('compute-1');
  assert.equal(end.status, 'drained', JSON.stringify(end));
  assert.deepEqual(end.counts, { total: 3, pending: 0, queued: 0, migrating: 0, moved: 3, blocked: 0, gone: 0 });
  assert.deepEqual(end.instances.map((i) => i.name).sort(), vms.map((v) => v.name).sort());
  for (const i of end.instances) {
    assert.ok(['compute-2', 'compute-3'].includes(i.moved_to!), JSON.stringify(i));
    assert.equal(i.migration_status, 'completed');
  }
  assert.deepEqual(await h.cluster.store.repo.listInstances({ host: 'compute-1' }), []);
  assert.equal((await h.cluster.store.repo.getService('compute-1'))!.disabled, true);
  const late = await h.call('DELETE', drainPath('compute-1'), { token: h.adminToken });
  assert.equal(late.status, 409, late.text);
  assert.match(late.json.conflictingRequest.message, /already ended \(drained\)/);
  // The next drain of the now empty host ends at once.
  assert.equal((await h.call('POST', drainPath('compute-1'), { token: h.adminToken })).status, 202);
  assert.equal((await drainEnd('compute-1')).status, 'drained');
  await h.call('PUT', '/v2.1/os-services/enable', { token: h.adminToken, body: { host: 'compute-1', binary: 'nova-compute' } });
});

test('the journal shows a queued migration\'s place; Nova aborts a queued one only from 2.65', async () => {
  h.slowHost('compute-2', 2);
  const vms = await Promise.all([0, 1].map((i) => h.boot(`queue-${i}`, 'compute-2')));
  for (const vm of vms) {
    const r = await h.call('POST', `/v2.1/servers/${vm.uuid}/action`, { token: h.adminToken, version: '2.30',
      body: { 'os-migrateLive': { host: 'compute-3', block_migration: 'auto' } } });
    assert.equal(r.status, 202, r.text);
  }
  const second = (await h.cluster.store.repo.listMigrations({ instanceUuid: vms[1]!.uuid }))[0]!;
  const journal = await waitFor('the second migration to queue', async () => {
    const j = await h.call('GET', `/v2.1/baton/migrations/${second.id}/journal`, { token: h.adminToken });
    return j.json.migration.queue ? j.json.migration : undefined;
  });
  assert.equal(journal.status, 'queued');
  assert.deepEqual([journal.queue.position, journal.queue.host, journal.queue.reason], [1, 'compute-2', 'outbound limit of compute-2 reached (1 of 1)']);
  const path = `/v2.1/servers/${vms[1]!.uuid}/migrations/${second.id}`;
  const old = await h.call('DELETE', path, { token: h.adminToken, version: '2.24' });
  assert.equal(old.status, 400, 'before 2.65 only a running migration can be aborted');
  assert.equal((await h.call('DELETE', path, { token: h.adminToken, version: '2.65' })).status, 202);
  await waitFor('the queued migration to be cancelled', async () => (await h.cluster.store.repo.getMigration(second.id))!.status === 'cancelled');
  await waitFor('the first to complete', async () => (await h.cluster.store.repo.activeMigrations()).length === 0, 20_000);
  h.slowHost('compute-2', 0.001);
});

test('cancelling a drain aborts its queued migrations and lets the running one finish; the host stays disabled', async () => {
  h.slowHost('compute-3', 2);
  await Promise.all([0, 1, 2].map((i) => h.boot(`cancel-me-${i}`, 'compute-3')));
  assert.equal((await h.call('POST', drainPath('compute-3'), { token: h.adminToken })).status, 202);
  await waitFor('one migration to run and the others to queue', async () => {
    const d = await drainOf('compute-3');
    return d.counts.queued === 2 && d.instances.filter((i) => i.queued).every((i) => i.migration_status === 'queued')
      && d.instances.some((i) => i.migration_status === 'running');
  }, 10_000, 50);
  const c = await h.call('DELETE', drainPath('compute-3'), { token: h.adminToken });
  assert.equal(c.status, 202, c.text);
  assert.equal((c.json as DrainReply).drain.status, 'cancelling');
  const end = await drainEnd('compute-3');
  assert.equal(end.status, 'cancelled');
  // The earlier tests left instances on compute-3 too; the drain moved those first.
  const mine = end.instances.filter((i) => i.name.startsWith('cancel-me'));
  const statuses = mine.map((i) => i.migration_status).sort();
  assert.deepEqual(statuses.slice(0, 2), ['cancelled', 'cancelled'], JSON.stringify(end));
  assert.ok(['running', 'post-migrating', 'completed'].includes(statuses[2]!), 'the one already moving goes on');
  await waitFor('the running one to finish', async () => (await h.cluster.store.repo.activeMigrations()).length === 0, 20_000);
  const left = (await h.cluster.store.repo.listInstances({ host: 'compute-3' })).map((i) => i.name).sort();
  assert.deepEqual(left, mine.filter((i) => i.migration_status === 'cancelled').map((i) => i.name).sort(), 'the cancelled ones stay');
  assert.equal((await h.cluster.store.repo.getService('compute-3'))!.disabled, true);
  h.slowHost('compute-3', 0.001);
  await h.call('PUT', '/v2.1/os-services/enable', { token: h.adminToken, body: { host: 'compute-3', binary: 'nova-compute' } });
});

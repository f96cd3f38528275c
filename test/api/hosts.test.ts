/** os-services (list, disable/enable with a reason, both API styles) and os-hypervisors (ids, patterns, servers, uptime). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './api-harness.js';

let h: Harness;
before(async () => { h = await startHarness(); await h.boot('hv-vm', 'compute-2', 'admin'); });
after(async () => { await h.close(); });

const get = (path: string, version: string) => h.call('GET', path, { token: h.adminToken, version });

test('services list: integer ids before 2.53, UUIDs from 2.53, state up', async () => {
  const old = (await get('/v2.1/os-services', '2.52')).json.services;
  assert.deepEqual(old.map((s: { id: number }) => s.id), [1, 2, 3]);
  const cur = (await get('/v2.1/os-services', '2.53')).json.services;
  assert.match(cur[0].id, /^[0-9a-f-]{36}$/);
  assert.deepEqual([cur[0].binary, cur[0].state, cur[0].status], ['nova-compute', 'up', 'enabled']);
  assert.equal((await get('/v2.1/os-services?host=compute-2', '2.1')).json.services.length, 1);
});

test('disable with a reason and enable, before 2.53', async () => {
  const put = (action: string, body: unknown) => h.call('PUT', `/v2.1/os-services/${action}`, { token: h.adminToken, version: '2.1', body });
  const r = await put('disable-log-reason', { host: 'compute-3', binary: 'nova-compute', disabled_reason: 'maintenance' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.service, { host: 'compute-3', binary: 'nova-compute', status: 'disabled', disabled_reason: 'maintenance' });
  assert.equal((await h.cluster.store.repo.getService('compute-3'))!.disabledReason, 'maintenance');
  assert.equal((await put('enable', { host: 'compute-3', binary: 'nova-compute' })).json.service.status, 'enabled');
  assert.equal((await put('enable', { host: 'nowhere', binary: 'nova-compute' })).status, 404);
  assert.equal((await put('disable', { host: 'compute-3' })).status, 400);
});

test('disable with a reason and enable, from 2.53 by service UUID', async () => {
  const id = (await get('/v2.1/os-services?host=compute-1', '2.53')).json.services[0].id;
  const put = (body: unknown, sid = id) => h.call('PUT', `/v2.1/os-services/${sid}`, { token: h.adminToken, version: '2.53', body });
  const r = await put({ status: 'disabled', disabled_reason: 'draining' });
  assert.equal(r.status, 200);
  assert.deepEqual([r.json.service.status, r.json.service.disabled_reason], ['disabled', 'draining']);
  assert.equal((await put({ status: 'enabled', disabled_reason: 'x' })).status, 400);
  assert.equal((await put({ status: 'enabled' })).json.service.status, 'enabled');
  assert.equal((await put({ status: 'enabled' }, 'not-a-uuid')).status, 400);
  assert.equal((await put({ status: 'enabled' }, '00000000-0000-0000-0000-000000000000')).status, 404);
});

test('hypervisors: list/detail/show; UUID ids from 2.53; usage fields before 2.88, uptime from it', async () => {
  const list = (await get('/v2.1/os-hypervisors', '2.1')).json.hypervisors;
  assert.deepEqual(list[0], { id: 1, hypervisor_hostname: 'compute-1', state: 'up', status: 'enabled' });
  const detail = (await get('/v2.1/os-hypervisors/detail', '2.28')).json.hypervisors;
  const c2 = detail.find((x: { hypervisor_hostname: string }) => x.hypervisor_hostname === 'compute-2');
  assert.equal(c2.running_vms, 1);
  assert.equal(c2.memory_mb_used, 2048);
  assert.equal(typeof c2.cpu_info, 'object');
  assert.equal(typeof (await get('/v2.1/os-hypervisors/2', '2.27')).json.hypervisor.cpu_info, 'string');
  const uuidList = (await get('/v2.1/os-hypervisors', '2.53')).json.hypervisors;
  const id = uuidList[1].id as string;
  assert.match(id, /^[0-9a-f-]{36}$/);
  const shown = (await get(`/v2.1/os-hypervisors/${id}`, '2.88')).json.hypervisor;
  assert.equal(shown.running_vms, undefined);
  assert.match(shown.uptime, /up/);
  assert.equal((await get('/v2.1/os-hypervisors/1', '2.53')).status, 400);
  assert.equal((await get('/v2.1/os-hypervisors/9', '2.1')).status, 404);
});

test('uptime before 2.88; pattern search with servers (2.53) and the old /search and /servers routes', async () => {
  assert.match((await get('/v2.1/os-hypervisors/1/uptime', '2.52')).json.hypervisor.uptime, /load average/);
  const id = (await get('/v2.1/os-hypervisors', '2.53')).json.hypervisors[0].id as string;
  assert.match((await get(`/v2.1/os-hypervisors/${id}/uptime`, '2.87')).json.hypervisor.uptime, /load average/);
  assert.equal((await get(`/v2.1/os-hypervisors/${id}/uptime`, '2.88')).status, 404);
  const found = (await get('/v2.1/os-hypervisors?hypervisor_hostname_pattern=compute-2&with_servers=True', '2.53')).json.hypervisors;
  assert.deepEqual(found[0].servers.map((s: { name: string }) => s.name), ['hv-vm']);
  assert.equal((await get('/v2.1/os-hypervisors?hypervisor_hostname_pattern=zzz', '2.53')).status, 404);
  assert.equal((await get('/v2.1/os-hypervisors/compute-2/search', '2.1')).json.hypervisors.length, 1);
  assert.equal((await get('/v2.1/os-hypervisors/compute-2/servers', '2.1')).json.hypervisors[0].servers.length, 1);
  assert.equal((await get('/v2.1/os-hypervisors/compute-2/search', '2.53')).status, 404);
  assert.deepEqual((await get('/v2.1/os-aggregates', '2.1')).json, { aggregates: [] });
});

/** servers: create (microversion rules), list/detail/show, lookup by name, delete; member scoping. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/services/cluster-ops.js';
import { startHarness, type Harness } from './api-harness.js';

let h: Harness;
before(async () => { h = await startHarness(); });
after(async () => { await h.close(); });

const create = (server: Record<string, unknown>, version: string, token = h.adminToken) =>
  h.call('POST', '/v2.1/servers', { token, version, body: { server } });
const base = { name: 'web-1', flavorRef: '1', imageRef: 'cirros' };

test('create goes BUILD -> ACTIVE on a host the scheduler picks', async () => {
  const r = await create({ ...base, networks: 'none' }, '2.37');
  assert.equal(r.status, 202);
  const id = r.json.server.id as string;
  assert.ok(r.json.server.adminPass);
  const show = await waitFor('ACTIVE', async () => {
    const s = await h.call('GET', `/v2.1/servers/${id}`, { token: h.adminToken });
    return s.json.server.status === 'ACTIVE' ? s : undefined;
  });
  assert.match(show.json.server['OS-EXT-SRV-ATTR:host'], /^compute-\d$/);
  assert.equal(show.json.server.flavor.id, '1');
  assert.equal(show.json.server.image.id, '8c1b9a52-4d1c-4b7e-9a8e-2f0d3c6b1a01');
});

test('networks is required from 2.37; "none" is a 400 before it', async () => {
  assert.equal((await create(base, '2.37')).status, 400);
  assert.equal((await create({ ...base, networks: 'none' }, '2.36')).status, 400);
  assert.equal((await create(base, '2.36')).status, 202);
});

test('host is accepted from 2.74 only, and places the server there; an unknown host is a 400', async () => {
  const old = await create({ ...base, networks: 'none', host: 'compute-3' }, '2.73');
  assert.equal(old.status, 400);
  assert.match(old.json.badRequest.message, /host/);
  const r = await create({ ...base, name: 'pinned', networks: 'none', host: 'compute-3' }, '2.74');
  assert.equal(r.status, 202);
  const inst = await waitFor('placed', async () => {
    const i = await h.cluster.store.repo.getInstance(r.json.server.id);
    return i?.vmState === 'active' ? i : undefined;
  });
  assert.equal(inst.host, 'compute-3');
  assert.equal((await create({ ...base, networks: 'none', host: 'nowhere' }, '2.74')).status, 400);
});

test('unknown flavor or image, and malformed bodies, are 400s', async () => {
  assert.equal((await create({ ...base, flavorRef: '99' }, '2.1')).status, 400);
  assert.equal((await create({ ...base, imageRef: 'nope' }, '2.1')).status, 400);
  assert.equal((await create({ ...base, bogus: 1 }, '2.1')).status, 400);
  assert.equal((await h.call('POST', '/v2.1/servers', { token: h.adminToken, rawBody: '{"server": ' })).status, 400);
  assert.equal((await h.call('POST', '/v2.1/servers', { token: h.adminToken, body: [] })).status, 400);
});

test('list, detail, lookup by name (404 on GET /servers/{name}, then ?name=)', async () => {
  await h.boot('lookup-me', 'compute-1', 'admin');
  const byName = await h.call('GET', '/v2.1/servers/lookup-me', { token: h.adminToken });
  assert.equal(byName.status, 404);
  assert.equal(byName.json.itemNotFound.code, 404);
  const list = await h.call('GET', '/v2.1/servers?name=lookup-me', { token: h.adminToken });
  assert.equal(list.json.servers.length, 1);
  assert.deepEqual(Object.keys(list.json.servers[0]).sort(), ['id', 'links', 'name']);
  const detail = await h.call('GET', '/v2.1/servers/detail', { token: h.adminToken, version: '2.47' });
  assert.ok(detail.json.servers.every((s: { status: string; flavor: { original_name?: string } }) => s.status && s.flavor.original_name));
  const limited = await h.call('GET', '/v2.1/servers?limit=1', { token: h.adminToken });
  assert.equal(limited.json.servers.length, 1);
  assert.equal((await h.call('GET', '/v2.1/servers?marker=nope', { token: h.adminToken })).status, 400);
});

test('a member sees only their project; admin sees all with all_tenants; a member may not use all_tenants', async () => {
  const mine = await h.boot('demo-owned', 'compute-2', 'demo');
  const adminOwned = await h.boot('admin-owned', 'compute-2', 'admin');
  const names = async (path: string, token: string) =>
    ((await h.call('GET', path, { token })).json.servers as { name: string }[]).map((s) => s.name);
  assert.ok((await names('/v2.1/servers', h.demoToken)).includes('demo-owned'));
  assert.ok(!(await names('/v2.1/servers', h.demoToken)).includes('admin-owned'));
  assert.ok(!(await names('/v2.1/servers', h.adminToken)).includes('demo-owned'));
  assert.ok((await names('/v2.1/servers?all_tenants=1', h.adminToken)).includes('demo-owned'));
  assert.equal((await h.call('GET', '/v2.1/servers?all_tenants=1', { token: h.demoToken })).status, 403);
  assert.equal((await h.call('GET', `/v2.1/servers/${adminOwned.uuid}`, { token: h.demoToken })).status, 404);
  const own = await h.call('GET', `/v2.1/servers/${mine.uuid}`, { token: h.demoToken });
  assert.equal(own.status, 200);
  assert.equal(own.json.server['OS-EXT-SRV-ATTR:host'], undefined, 'host attributes are admin-only');
});

test('delete answers 204 and the server goes away; unknown servers are 404', async () => {
  const inst = await h.boot('doomed', 'compute-1', 'admin');
  assert.equal((await h.call('DELETE', `/v2.1/servers/${inst.uuid}`, { token: h.adminToken })).status, 204);
  await waitFor('deleted', async () => (await h.call('GET', `/v2.1/servers/${inst.uuid}`, { token: h.adminToken })).status === 404);
  assert.equal((await h.call('DELETE', '/v2.1/servers/00000000-0000-0000-0000-000000000000', { token: h.adminToken })).status, 404);
});

/** Version discovery and microversion negotiation against a listening API. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './api-harness.js';

let h: Harness;
before(async () => { h = await startHarness(); });
after(async () => { await h.close(); });

test('version documents answer without a token and hold version and min_version', async () => {
  const root = await h.call('GET', '/');
  assert.equal(root.status, 200);
  assert.equal(root.json.versions[0].id, 'v2.1');
  const v = await h.call('GET', '/v2.1');
  assert.equal(v.status, 200);
  assert.deepEqual([v.json.version.min_version, v.json.version.version], ['2.1', '2.92']);
  assert.equal((await h.call('GET', '/v2.1/')).status, 200);
});

test('without a header the request is 2.1, and every response echoes the version used', async () => {
  const r = await h.call('GET', '/v2.1/flavors', { token: h.adminToken });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('openstack-api-version'), 'compute 2.1');
  assert.equal(r.headers.get('x-openstack-nova-api-version'), '2.1');
  assert.match(r.headers.get('vary') ?? '', /OpenStack-API-Version/);
});

test('both headers are accepted; the new one wins; latest is the maximum', async () => {
  const legacy = await h.call('GET', '/v2.1/flavors', { token: h.adminToken, legacyVersion: '2.25' });
  assert.equal(legacy.headers.get('x-openstack-nova-api-version'), '2.25');
  const both = await h.call('GET', '/v2.1/flavors', { token: h.adminToken, legacyVersion: '2.25', version: '2.60' });
  assert.equal(both.headers.get('openstack-api-version'), 'compute 2.60');
  const latest = await h.call('GET', '/v2.1/flavors', { token: h.adminToken, version: 'latest' });
  assert.equal(latest.headers.get('openstack-api-version'), 'compute 2.92');
  const multi = await h.call('GET', '/v2.1/flavors', { token: h.adminToken, headers: { 'OpenStack-API-Version': 'image 2.5, compute 2.53' } });
  assert.equal(multi.headers.get('openstack-api-version'), 'compute 2.53');
});

test('a version outside min..max is a 406, a malformed one a 400, both with a fault body', async () => {
  for (const v of ['2.93', '2.0', '3.1', '1.1']) {
    const r = await h.call('GET', '/v2.1/flavors', { token: h.adminToken, version: v });
    assert.equal(r.status, 406, v);
    assert.equal(r.json.notAcceptable.code, 406);
  }
  const bad = await h.call('GET', '/v2.1/flavors', { token: h.adminToken, legacyVersion: '2.x' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.badRequest.message, /invalid format/);
});

test('body rules follow the microversion: flavor fields appear at 2.55, 2.61 and 2.75', async () => {
  const old = await h.call('GET', '/v2.1/flavors/2', { token: h.adminToken, version: '2.54' });
  assert.equal(old.json.flavor.description, undefined);
  assert.equal(old.json.flavor.swap, '');
  const cur = await h.call('GET', '/v2.1/flavors/2', { token: h.adminToken, version: '2.75' });
  assert.equal(cur.json.flavor.description, null);
  assert.deepEqual(cur.json.flavor.extra_specs, {});
  assert.equal(cur.json.flavor.swap, 0);
  assert.equal((await h.call('GET', '/v2.1/flavors/nope', { token: h.adminToken })).status, 404);
});

test('routes that start at a microversion are 404 below it', async () => {
  const inst = await h.boot('mv-1', 'compute-1');
  assert.equal((await h.call('GET', `/v2.1/servers/${inst.uuid}/migrations`, { token: h.adminToken, version: '2.22' })).status, 404);
  assert.equal((await h.call('GET', `/v2.1/servers/${inst.uuid}/migrations`, { token: h.adminToken, version: '2.23' })).status, 200);
});

test('OpenAPI is served at /openapi.json', async () => {
  const r = await h.call('GET', '/openapi.json');
  assert.equal(r.status, 200);
  assert.ok(r.json.paths['/v2.1/servers/{id}/action'].post.requestBody);
  assert.ok(r.json.paths['/v2.1/os-migrations'].get);
});

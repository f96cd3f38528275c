/** Keystone subset (tokens, expiry, catalog), policy defaults and overrides, --no-auth, and the Glance subset. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { DEFAULT_EMBEDDED_AUTH } from '../../src/api/auth/auth-config.js';
import { startHarness, type Harness } from './api-harness.js';

let h: Harness;
before(async () => { h = await startHarness(); });
after(async () => { await h.close(); });

const passwordBody = (name: string, password: string) => ({ auth: { identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } } } });

test('identity version discovery at /identity and /identity/v3', async () => {
  assert.equal((await h.call('GET', '/identity')).json.versions.values[0].id, 'v3.14');
  assert.equal((await h.call('GET', '/identity/v3')).json.version.status, 'stable');
});

test('password auth answers 201, X-Subject-Token, expires_at and a catalog pointing compute at this API', async () => {
  const r = await h.call('POST', '/identity/v3/auth/tokens', { body: passwordBody('admin', 'admin') });
  assert.equal(r.status, 201);
  assert.ok(r.headers.get('x-subject-token'));
  assert.ok(Date.parse(r.json.token.expires_at) > Date.now());
  const types = (r.json.token.catalog as { type: string; endpoints: { url: string }[] }[]).map((s) => [s.type, s.endpoints[0]!.url]);
  assert.deepEqual(types, [['compute', `${h.url}/v2.1`], ['image', `${h.url}/image`], ['identity', `${h.url}/identity`]]);
  assert.deepEqual(r.json.token.roles.map((x: { name: string }) => x.name), ['admin']);
});

test('token method re-issues; wrong password, unknown user, foreign project scope are 401', async () => {
  const t = await h.call('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: h.demoToken } } } } });
  assert.equal(t.status, 201);
  assert.equal(t.json.token.user.name, 'demo');
  assert.equal((await h.call('POST', '/identity/v3/auth/tokens', { body: passwordBody('admin', 'nope') })).status, 401);
  assert.equal((await h.call('POST', '/identity/v3/auth/tokens', { body: passwordBody('ghost', 'x') })).status, 401);
  await assert.rejects(h.token('demo', 'demo', 'admin'), /401/);
  const bad = await h.call('POST', '/identity/v3/auth/tokens', { body: { auth: {} } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 400);
});

test('compute requests need a valid token (401 with a fault body)', async () => {
  const none = await h.call('GET', '/v2.1/servers');
  assert.equal(none.status, 401);
  assert.equal(none.json.unauthorized.code, 401);
  assert.equal((await h.call('GET', '/v2.1/servers', { token: 'garbage' })).status, 401);
  assert.equal((await h.call('GET', '/v2.1/servers', { token: `${h.adminToken.split('.')[0]}.forged` })).status, 401);
});

test('tokens expire', async () => {
  const short = await startHarness({ auth: { ...DEFAULT_EMBEDDED_AUTH, tokenTtlSeconds: 1 } });
  try {
    assert.equal((await short.call('GET', '/v2.1/flavors', { token: short.adminToken })).status, 200);
    await delay(1100);
    assert.equal((await short.call('GET', '/v2.1/flavors', { token: short.adminToken })).status, 401);
  } finally {
    await short.close();
  }
});

test('members get 403 on admin-only APIs; admins do not', async () => {
  for (const path of ['/v2.1/os-services', '/v2.1/os-hypervisors', '/v2.1/os-hypervisors/detail', '/v2.1/os-migrations', '/v2.1/os-aggregates']) {
    const r = await h.call('GET', path, { token: h.demoToken });
    assert.equal(r.status, 403, path);
    assert.match(r.json.forbidden.message, /Policy doesn't allow/);
    assert.equal((await h.call('GET', path, { token: h.adminToken })).status, 200, path);
  }
  assert.equal((await h.call('GET', '/v2.1/flavors', { token: h.demoToken })).status, 200);
});

test('a policy rule can be changed: members may list services', async () => {
  const open = await startHarness({ policy: { 'os_compute_api:os-services:list': 'rule:admin_or_owner' } });
  try {
    assert.equal((await open.call('GET', '/v2.1/os-services', { token: open.demoToken })).status, 200);
    assert.equal((await open.call('GET', '/v2.1/os-hypervisors', { token: open.demoToken })).status, 403);
  } finally {
    await open.close();
  }
});

test('without auth (--no-auth) every request acts as admin', async () => {
  const noauth = await startHarness({ auth: null });
  try {
    assert.equal((await noauth.call('GET', '/v2.1/os-services')).status, 200);
    assert.equal((await noauth.call('POST', '/identity/v3/auth/tokens', { body: passwordBody('admin', 'admin') })).status, 404);
  } finally {
    await noauth.close();
  }
});

test('the Glance subset lists and shows images, with ?name=', async () => {
  const list = await h.call('GET', '/image/v2/images', { token: h.demoToken });
  assert.equal(list.status, 200);
  assert.ok(list.json.images.some((i: { name: string }) => i.name === 'cirros'));
  const byName = await h.call('GET', '/image/v2/images?name=cirros', { token: h.demoToken });
  assert.equal(byName.json.images.length, 1);
  const one = await h.call('GET', `/image/v2/images/${byName.json.images[0].id}`, { token: h.demoToken });
  assert.equal(one.json.name, 'cirros');
  assert.equal((await h.call('GET', '/image/v2/images/nope', { token: h.demoToken })).status, 404);
  assert.equal((await h.call('GET', '/image/v2/images')).status, 401);
  assert.equal((await h.call('GET', '/image')).json.versions[0].id, 'v2.9');
});

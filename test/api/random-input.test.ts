/**
 * Property: no input of any shape gives a 5xx. Random methods, paths (every route of /openapi.json with
 * random and real ids), query strings, version/auth/content-type headers and bodies, against a live server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startHarness, type Harness } from './api-harness.js';

let h: Harness;
let templates: string[] = [];
let realIds: string[] = [];
before(async () => {
  h = await startHarness();
  const vm = await h.boot('fuzz-vm', 'compute-1', 'demo');
  realIds = [vm.uuid, '1', '2', 'compute-1', 'req-x', (await h.cluster.store.repo.listServices())[0]!.hypervisorId];
  templates = Object.keys((await h.call('GET', '/openapi.json')).json.paths as Record<string, unknown>);
});
after(async () => { await h.close(); });

const ascii = (max: number) => fc.string({ unit: 'grapheme-ascii', maxLength: max });
const anyText = fc.oneof(ascii(20), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('', '0', '-1', '2.25', 'latest', 'None', '%', '../..'));
const boolish = fc.oneof(fc.boolean(), fc.constantFrom('auto', 'True', 'yes', 'maybe', 0, null));
const shapedBody = fc.oneof(
  fc.record({ 'os-migrateLive': fc.record({ host: fc.oneof(fc.constant(null), fc.constantFrom('compute-2', 'compute-1', 'nope'), anyText),
    block_migration: boolish, force: boolish, disk_over_commit: boolish }, { requiredKeys: [] }) }),
  fc.record({ server: fc.record({ name: anyText, flavorRef: fc.oneof(anyText, fc.integer()), imageRef: fc.oneof(anyText, fc.constant('cirros')),
    networks: fc.oneof(fc.constantFrom('none', 'auto'), fc.array(fc.jsonValue(), { maxLength: 2 })), host: anyText, min_count: fc.jsonValue() },
    { requiredKeys: [] }) }),
  fc.record({ force_complete: fc.jsonValue() }),
  fc.record({ status: fc.oneof(fc.constantFrom('enabled', 'disabled'), anyText), disabled_reason: fc.jsonValue(), host: anyText, binary: anyText },
    { requiredKeys: [] }),
  fc.record({ auth: fc.record({ identity: fc.record({ methods: fc.array(fc.constantFrom('password', 'token', 'totp')),
    password: fc.jsonValue(), token: fc.record({ id: anyText }) }, { requiredKeys: [] }), scope: fc.jsonValue() }, { requiredKeys: [] }) }),
  fc.jsonValue({ maxDepth: 3 }),
);
const body = fc.oneof(
  fc.constant(undefined),
  shapedBody.map((b) => ({ raw: JSON.stringify(b) ?? 'null', type: 'application/json' })),
  fc.tuple(fc.string({ maxLength: 40 }), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8'))
    .map(([raw, type]) => ({ raw, type })),
);
const versionValue = fc.oneof(fc.constantFrom('2.1', '2.22', '2.24', '2.25', '2.30', '2.53', '2.59', '2.68', '2.88', '2.92', 'latest', '2.93', '3.0', '2.x', ''), ascii(12));

const request = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  template: fc.nat(),
  params: fc.array(fc.oneof(anyText, fc.nat().map((n) => realIds[n % realIds.length] ?? '1')), { minLength: 4, maxLength: 4 }),
  query: fc.array(fc.tuple(fc.constantFrom('limit', 'marker', 'name', 'status', 'host', 'all_tenants', 'changes-since', 'changes-before',
    'with_servers', 'hypervisor_hostname_pattern', 'instance_uuid', 'migration_type', 'user_id', 'minRam'), anyText), { maxLength: 3 }),
  newVersion: fc.option(versionValue), legacyVersion: fc.option(versionValue),
  token: fc.constantFrom('admin', 'demo', 'none', 'garbage'),
  body,
});

test('no random request gets a 5xx', async () => {
  await fc.assert(fc.asyncProperty(request, async (r) => {
    let i = 0;
    const path = templates[r.template % templates.length]!.replace(/\{\w+\}/g, () => encodeURIComponent(r.params[i++] ?? 'x'));
    const qs = r.query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    const headers: Record<string, string> = {};
    if (r.newVersion !== null) headers['OpenStack-API-Version'] = `compute ${r.newVersion}`;
    if (r.legacyVersion !== null) headers['X-OpenStack-Nova-API-Version'] = r.legacyVersion;
    if (r.body) headers['Content-Type'] = r.body.type;
    const token = r.token === 'admin' ? h.adminToken : r.token === 'demo' ? h.demoToken : r.token === 'garbage' ? 'x.y' : null;
    const hasBody = r.body !== undefined && !['GET', 'HEAD'].includes(r.method);
    const res = await h.call(r.method, `${path}${qs ? `?${qs}` : ''}`, { token, headers, ...(hasBody ? { rawBody: r.body!.raw } : {}) });
    assert.ok(res.status < 500, `${r.method} ${path}?${qs} -> ${res.status} ${res.text.slice(0, 200)}`);
  }), { numRuns: 400, seed: Number(process.env['FC_SEED'] ?? Date.now() % 100_000) });
});

/** GET and POST /v2.1/baton/audit: admin only, the shape of a pass, anomalies and repairs as the reconciler recorded them. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditReply } from '../../src/api/http/audit-view.js';
import { startHarness, type Harness } from './api-harness.js';

let h: Harness;
before(async () => { h = await startHarness(); });
after(async () => { await h.close(); });

const NOVA_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;

async function audit(method: 'GET' | 'POST'): Promise<AuditReply> {
  const r = await h.call(method, '/v2.1/baton/audit', { token: h.adminToken });
  assert.equal(r.status, 200, r.text);
  return r.json as AuditReply;
}

test('the audit is admin only: no token 401, a member 403 for reading and for running a pass', async () => {
  for (const method of ['GET', 'POST']) {
    assert.equal((await h.call(method, '/v2.1/baton/audit')).status, 401, method);
    const member = await h.call(method, '/v2.1/baton/audit', { token: h.demoToken });
    assert.equal(member.status, 403, method);
    assert.match(member.json.forbidden.message, /baton:audit:(show|run)/);
  }
});

test('before any pass: no time, nothing found; POST runs a pass over every host and GET then shows the same pass', async () => {
  assert.deepEqual((await audit('GET')).audit, { checked_at: null, conductor: null, duration_ms: null, hosts_checked: [], unreachable: [],
    anomalies: [], repairs: [] });
  const ran = (await audit('POST')).audit;
  assert.match(ran.checked_at ?? '', NOVA_TIME);
  assert.equal(ran.conductor, 'conductor-0');
  assert.equal(typeof ran.duration_ms, 'number');
  assert.deepEqual(ran.hosts_checked, ['compute-1', 'compute-2', 'compute-3']);
  assert.deepEqual([ran.unreachable, ran.anomalies, ran.repairs], [[], [], []]);
  assert.deepEqual((await audit('GET')).audit, ran);
});

test('an anomaly and a repair, as the API shows them', async () => {
  const twice = await h.boot('twice', 'compute-1');
  await h.cluster.drivers.get('compute-2')!.spawn({ uuid: twice.uuid, name: twice.name, vcpus: 1, memoryMb: 512, diskGb: 1, imageRef: 'cirros' });
  const moved = await h.boot('moved', 'compute-3');
  await h.cluster.store.repo.updateInstance(moved.uuid, { host: 'compute-1', updatedAt: Date.now() });
  const { audit: a } = await audit('POST');
  assert.deepEqual(a.anomalies.map((x) => ({ ...x, message: '' })), [{ kind: 'two-running-copies', severity: 'critical', instance_uuid: twice.uuid,
    migration_id: null, hosts: ['compute-1', 'compute-2'], message: '' }]);
  assert.match(a.anomalies[0]!.message, /runs on 2 hosts/);
  assert.equal(a.repairs.length, 1);
  const [r] = a.repairs;
  assert.deepEqual({ ...r, at: '', message: '' }, { at: '', conductor: 'conductor-0', kind: 'fix-host', instance_uuid: moved.uuid, migration_id: null,
    host: 'compute-3', message: '' });
  assert.match(r!.at, NOVA_TIME);
  assert.match(r!.message, /record named compute-1 and now names compute-3/);
  assert.deepEqual((await audit('GET')).audit.anomalies, a.anomalies, 'GET shows the stored pass');
  await h.cluster.drivers.get('compute-2')!.destroy(twice.uuid);
  const clean = (await audit('POST')).audit;
  assert.deepEqual(clean.anomalies, [], 'the next pass replaces the anomalies');
  assert.deepEqual(clean.repairs, a.repairs, 'repairs stay as history');
});

test('the audit routes are in the OpenAPI description', async () => {
  const doc = (await h.call('GET', '/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
  assert.deepEqual(Object.keys(doc.paths['/v2.1/baton/audit'] ?? {}).sort(), ['get', 'post']);
});

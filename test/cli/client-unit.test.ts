/** The client's pieces without a Baton server: settings, fault bodies, Keystone catalog, microversion fallback, journal rendering. */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, ConnectionError } from '../../src/cli/client/client-errors.js';
import { ComputeClient } from '../../src/cli/client/compute-client.js';
import { resolveSettings } from '../../src/cli/client/connection-options.js';
import { faultOf } from '../../src/cli/client/http-transport.js';
import { formatJournalReply } from '../../src/cli/client/journal-view.js';
import { counters } from '../../src/cli/client/progress-view.js';
import { DrainLines, formatDrain } from '../../src/cli/client/drain-progress.js';
import type { DrainView } from '../../src/api/http/drain-view.js';

describe('connection settings', () => {
  it('takes options over the environment, and the environment over defaults', () => {
    const env = { OS_AUTH_URL: 'http://127.0.0.1:9999/identity/v3/', OS_USERNAME: 'demo', OS_PASSWORD: 'pw' };
    const s = resolveSettings({ osUsername: 'admin' }, env);
    assert.equal(s.authUrl, 'http://127.0.0.1:9999/identity/v3');
    assert.equal(s.computeUrl, 'http://127.0.0.1:9999/v2.1');
    assert.equal(s.username, 'admin');
    assert.equal(s.password, 'pw');
    assert.equal(s.auth, true);
    assert.equal(s.microversion, '2.92');
  });
  it('reads OS_COMPUTE_API_VERSION as the OpenStack clients do, "2.latest" included', () => {
    assert.equal(resolveSettings({}, { OS_COMPUTE_API_VERSION: '2.latest' }).microversion, '2.92');
    assert.equal(resolveSettings({}, { OS_COMPUTE_API_VERSION: 'latest' }).microversion, '2.92');
    assert.equal(resolveSettings({}, { OS_COMPUTE_API_VERSION: '2.60' }).microversion, '2.60');
  });
  it('turns authentication off with --no-auth or BATON_NO_AUTH', () => {
    assert.equal(resolveSettings({ auth: false }, {}).auth, false);
    assert.equal(resolveSettings({}, { BATON_NO_AUTH: '1' }).auth, false);
    assert.equal(resolveSettings({}, { BATON_NO_AUTH: '0' }).auth, true);
  });
});

describe('fault bodies', () => {
  it('reads Nova, Keystone and plain messages', () => {
    assert.deepEqual(faultOf({ badRequest: { code: 400, message: 'Compute host x could not be found.' } }, 400),
      { fault: 'badRequest', message: 'Compute host x could not be found.' });
    assert.equal(faultOf({ error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } }, 401).message,
      'The request you have made requires authentication.');
    assert.equal(faultOf({ statusCode: 404, error: 'Not Found', message: 'Route GET:/x not found' }, 404).message, 'Route GET:/x not found');
    assert.equal(faultOf(null, 502).message, 'HTTP 502 with no error message');
  });
});

/** A stand-in for Keystone plus a compute API that only speaks up to 2.60, with its endpoint somewhere the default would not guess. */
function fakeCloud(): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const port = (req.socket.address() as AddressInfo).port;
    if (req.method === 'POST' && req.url === '/identity/v3/auth/tokens') {
      let raw = '';
      req.on('data', (c: Buffer) => { raw += c.toString(); });
      req.on('end', () => {
        const body = JSON.parse(raw) as { auth: { identity: { password: { user: { name: string; password: string } } } } };
        const user = body.auth.identity.password.user;
        if (user.password !== 'secret') { send(401, { error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } }); return; }
        send(201, { token: { catalog: [{ type: 'compute', endpoints: [{ interface: 'public', url: `http://127.0.0.1:${port}/compute/v2.1` }] }] } },
          { 'X-Subject-Token': `tok-${user.name}` });
      });
      return;
    }
    if (req.headers['x-auth-token'] !== 'tok-admin') { send(401, { error: { code: 401, message: 'bad token' } }); return; }
    const asked = String(req.headers['openstack-api-version'] ?? '');
    if (asked !== 'compute 2.60') {
      send(406, { notAcceptable: { code: 406, message: `Version ${asked.split(' ')[1]} is not supported by the API. Minimum is 2.1 and maximum is 2.60.` } });
      return;
    }
    if (req.url === '/compute/v2.1/servers/detail') { send(200, { servers: [{ id: 'a', name: 'vm' }] }); return; }
    send(404, { itemNotFound: { code: 404, message: 'The resource could not be found.' } });
  });
}

describe('compute client against a fake cloud', () => {
  let server: Server;
  let authUrl = '';
  before(async () => {
    server = fakeCloud();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    authUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/identity/v3`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('authenticates, uses the catalog endpoint, and falls back to the server maximum microversion', async () => {
    const c = new ComputeClient(resolveSettings({ osAuthUrl: authUrl, osUsername: 'admin', osPassword: 'secret' }, {}));
    assert.deepEqual((await c.listServers()).map((s) => s.name), ['vm']);
    assert.equal(c.microversion, '2.60');
    assert.equal(c.supports('2.53'), true);
    assert.equal(c.supports('2.74'), false);
  });
  it('reports a refused password with Keystone message', async () => {
    const c = new ComputeClient(resolveSettings({ osAuthUrl: authUrl, osUsername: 'admin', osPassword: 'wrong' }, {}));
    await assert.rejects(c.listServers(), (e: unknown) => e instanceof ApiError && e.status === 401 && /authentication as admin failed/.test(e.message));
  });
  it('names the URL when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const c = new ComputeClient(resolveSettings({ auth: false, osComputeUrl: `http://127.0.0.1:${port}/v2.1` }, {}));
    await assert.rejects(c.listServers(), (e: unknown) => e instanceof ConnectionError && e.message.includes(`http://127.0.0.1:${port}`) && /refused/.test(e.message));
  });
});

describe('journal rendering', () => {
  it('shows the history, the error and one row per step', () => {
    const text = formatJournalReply(7, {
      migration: { id: 7, status: 'failed', source_compute: 'compute-1', dest_compute: 'compute-2', history: ['accepted', 'preparing', 'failed'], error: 'boom' },
      steps: [
        { step: 'pre_live_migration', host: 'compute-2', attempt: 1, status: 'failed', sent_at: '2024-01-01T00:00:00.000000', acked_at: null,
          done_at: null, failed_at: '2024-01-01T00:00:00.250000', error: 'boom' },
      ],
    });
    assert.match(text, /migration 7: compute-1 -> compute-2 {2}status failed/);
    assert.match(text, /statuses: accepted -> preparing -> failed/);
    assert.match(text, /error: boom/);
    assert.match(text, /pre_live_migration +compute-2 +1 +failed +00:00:00\.000 +- +00:00:00\.250 +250 +boom/);
  });
});

describe('progress counters', () => {
  const GiB = 1024 ** 3;
  it('count what is on the destination (total - remaining), even when re-sent pages push processed past the total', () => {
    assert.deepEqual(counters({ status: 'running', totalBytes: 2 * GiB, processedBytes: 2.6 * GiB, remainingBytes: 0.25 * GiB }),
      { size: 2048, moved: 1792, remaining: 256 });
  });
  it('are unknown before the first report, and fall back to processed without remaining', () => {
    assert.equal(counters({ status: 'running', totalBytes: 0, processedBytes: 0, remainingBytes: 0 }), null);
    assert.deepEqual(counters({ status: 'running', totalBytes: GiB, processedBytes: GiB / 4, remainingBytes: null }),
      { size: 1024, moved: 256, remaining: 768 });
  });
});

describe('drain rendering', () => {
  const view: DrainView = {
    host: 'h1', status: 'blocked', reason: 'maintenance', created_at: '2026-01-01T10:00:00.000000', updated_at: '2026-01-01T10:00:09.000000',
    finished_at: '2026-01-01T10:00:09.000000', driven_by: 'c2', passes: 7,
    counts: { total: 2, pending: 0, queued: 0, migrating: 0, moved: 1, blocked: 1, gone: 0 },
    instances: [
      { instance_uuid: 'u-1', name: 'vm-1', status: 'moved', migration_id: 4, migration_status: 'completed', queued: false, attempts: 1, reason: null, moved_to: 'h2' },
      { instance_uuid: 'u-2', name: 'vm-2', status: 'blocked', migration_id: 6, migration_status: 'error', queued: false, attempts: 2,
        reason: 'check_can_live_migrate_source failed on h1: pinned', moved_to: null },
    ],
    blocked: [{ instance_uuid: 'u-2', name: 'vm-2', reason: 'check_can_live_migrate_source failed on h1: pinned' }],
  };

  it('ends with every instance and names the blocked ones with their reason', () => {
    const out = formatDrain(view);
    assert.match(out, /^drain of h1: blocked {2}1\/2 moved, 0 migrating, 0 queued, 0 pending, 1 blocked/);
    assert.match(out, /^vm-1 +u-1 +moved +4 +completed +1 +h2/m);
    assert.match(out, /^blocked: vm-2 \(u-2\): check_can_live_migrate_source failed on h1: pinned$/m);
  });

  it('prints one line per change outside a terminal', () => {
    const lines: string[] = [];
    const v = new DrainLines('draining h1', (l) => lines.push(l));
    v.update({ ...view, status: 'running' });
    v.update({ ...view, status: 'running' });
    v.update(view);
    assert.deepEqual(lines, ['draining h1: running, 1/2 moved, 0 migrating, 0 queued, 1 blocked', 'draining h1: blocked, 1/2 moved, 0 migrating, 0 queued, 1 blocked']);
  });
});

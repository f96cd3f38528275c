/** The client commands as child processes against a real `baton up` (its HTTP API on a free port). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { killClients, runBaton, startBatonUp, type RunningBaton } from './support/baton-process.js';

interface Service { host: string; status: string; state: string; disabled_reason: string | null }
interface Server { id: string; name: string; status: string; 'OS-EXT-SRV-ATTR:host': string }

describe('baton client against baton up', { timeout: 240_000 }, () => {
  let up: RunningBaton;
  const baton = (...args: string[]) => runBaton(args, up.env);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await baton(...args, '--json');
    assert.equal(r.code, 0, `baton ${args.join(' ')} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };

  before(async () => { up = await startBatonUp(); });
  after(async () => {
    killClients();
    await up?.stop();
  });

  it('lists the three compute hosts, as a table and as JSON', async () => {
    const r = await baton('host', 'list');
    assert.equal(r.code, 0, r.stderr);
    for (const h of ['compute-1', 'compute-2', 'compute-3']) assert.match(r.stdout, new RegExp(`${h}\\s+\\S+\\s+enabled\\s+up`));
    const { services } = await json<{ services: Service[] }>('host', 'list');
    assert.deepEqual(services.map((s) => s.host).sort(), ['compute-1', 'compute-2', 'compute-3']);
  });

  it('creates, lists and shows a server by name', async () => {
    const created = await json<{ server: Server }>('server', 'create', 'e2e-vm', '--flavor', 'm1.tiny', '--host', 'compute-1', '--wait');
    assert.equal(created.server.status, 'ACTIVE');
    assert.equal(created.server['OS-EXT-SRV-ATTR:host'], 'compute-1');
    const list = await baton('server', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${created.server.id}\\s+e2e-vm\\s+ACTIVE`));
    const shown = await json<{ server: Server }>('server', 'show', 'e2e-vm');
    assert.equal(shown.server.id, created.server.id);
  });

  it('fails a live migration to an unknown host with exit 1, naming the host', async () => {
    const r = await baton('live-migrate', 'e2e-vm', '--host', 'no-such-host', '--wait');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^baton: live-migrate e2e-vm to no-such-host: .*no-such-host/m);
    assert.equal(r.stdout, '');
  });

  it('live-migrates with --wait and prints the journal; the server moves', async () => {
    const r = await baton('live-migrate', 'e2e-vm', '--host', 'compute-2', '--wait');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /compute-1 -> compute-2 {2}status completed/);
    for (const step of ['check_can_live_migrate_destination', 'check_can_live_migrate_source', 'pre_live_migration', 'live_migration',
      'post_live_migration_at_source', 'post_live_migration_at_destination']) assert.match(r.stdout, new RegExp(`^${step}\\s+compute-\\d`, 'm'));
    // Not a terminal: status lines instead of a bar.
    assert.match(r.stderr, /live-migrating e2e-vm: completed/);
    const shown = await json<{ server: Server }>('server', 'show', 'e2e-vm');
    assert.equal(shown.server['OS-EXT-SRV-ATTR:host'], 'compute-2');
  });

  it('lists migrations and shows one with its journal', async () => {
    const { migrations } = await json<{ migrations: { id: number; status: string; dest_compute: string }[] }>('migration', 'list', '--server', 'e2e-vm');
    const done = migrations.find((m) => m.status === 'completed' && m.dest_compute === 'compute-2');
    assert.ok(done, JSON.stringify(migrations));
    const r = await baton('migration', 'show', String(done.id));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^migration ${done.id} .*status completed`, 'm'));
    assert.match(r.stdout, /^live_migration\s+compute-1\s+1\s+done/m);
  });

  it('cannot abort or force-complete a finished migration (exit 1 with the API message)', async () => {
    const { migrations } = await json<{ migrations: { id: number }[] }>('migration', 'list', '--server', 'e2e-vm', '--status', 'completed');
    const r = await baton('migration', 'abort', String(migrations[0]!.id));
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^baton: migration abort ${migrations[0]!.id}: .*completed`, 'm'));
  });

  it('disables and enables a host; the scheduler then avoids it', async () => {
    const off = await json<{ service: Service }>('host', 'disable', 'compute-3', '--reason', 'e2e maintenance');
    assert.equal(off.service.status, 'disabled');
    assert.equal(off.service.disabled_reason, 'e2e maintenance');
    const r = await baton('live-migrate', 'e2e-vm', '--wait');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /compute-2 -> compute-1 {2}status completed/);
    const on = await json<{ service: Service }>('host', 'enable', 'compute-3');
    assert.equal(on.service.status, 'enabled');
  });

  it('reports usage errors with exit 2 and a bad password with exit 1', async () => {
    const usage = await baton('live-migrate');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing required argument 'server'/);
    const denied = await runBaton(['server', 'list'], { ...up.env, OS_PASSWORD: 'wrong' });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^baton: server list: authentication as admin failed: /m);
  });

  it('deletes the server', async () => {
    const r = await baton('server', 'delete', 'e2e-vm', '--wait');
    assert.equal(r.code, 0, r.stderr);
    const gone = await baton('server', 'show', 'e2e-vm');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /e2e-vm/);
  });
});

/**
 * The stock OpenStack clients (Debian's python3-openstackclient and python3-novaclient) against
 * `baton up --ephemeral --slow-migrations` started as a child process, with password auth.
 * Outside CI the test skips when the clients are missing; under CI=true that is a failure.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { waitFor } from '../../src/services/cluster-ops.js';

const run = promisify(execFile);
const APT_LINE = 'apt-get update && apt-get install -y python3-openstackclient python3-novaclient';

async function haveClients(): Promise<boolean> {
  try {
    await run('sh', ['-c', 'command -v openstack && command -v nova']);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  return typeof addr === 'object' && addr ? addr.port : 0;
}

const present = await haveClients();
if (!present && process.env['CI'] === 'true') {
  test('the stock OpenStack clients are installed', () => {
    assert.fail(`openstack/nova clients are missing under CI=true; install them with: ${APT_LINE}`);
  });
}
const skip = present ? false : `openstack/nova clients not installed (install: ${APT_LINE})`;

let child: ChildProcess | null = null;
let env: NodeJS.ProcessEnv = {};
let baseUrl = '';
const ids: Record<string, string> = {};

async function cli(tool: 'openstack' | 'nova', args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const r = await run(tool, args, { env: { ...env, ...extraEnv }, timeout: 60_000 });
    return r.stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    throw new Error(`${tool} ${args.join(' ')} exited ${err.code}: ${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}
const os = (...args: string[]) => cli('openstack', args);
const asDemo = { OS_USERNAME: 'demo', OS_PASSWORD: 'demo', OS_PROJECT_NAME: 'demo' };

async function adminToken(): Promise<string> {
  const res = await fetch(`${baseUrl}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 'admin' } } } } }) });
  return res.headers.get('x-subject-token')!;
}

async function migrationStatus(server: string): Promise<string[]> {
  const res = await fetch(`${baseUrl}/v2.1/os-migrations?instance_uuid=${server}`, { headers: { 'X-Auth-Token': await adminToken() } });
  return ((await res.json()) as { migrations: { status: string }[] }).migrations.map((m) => m.status);
}

before(async () => {
  if (skip) return;
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  env = { PATH: process.env['PATH'], HOME: process.env['HOME'], LANG: 'C.UTF-8', OS_AUTH_URL: `${baseUrl}/identity/v3`, OS_USERNAME: 'admin',
    OS_PASSWORD: 'admin', OS_PROJECT_NAME: 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_IDENTITY_API_VERSION: '3', OS_REGION_NAME: 'RegionOne', OS_COMPUTE_API_VERSION: '2.latest' };
  child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'up', '--ephemeral', '--slow-migrations', '--api-port', String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BATON_LOG_LEVEL: 'error' } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  await waitFor('baton up to be running', async () => {
    if (child?.exitCode !== null) throw new Error(`baton up exited: ${out}`);
    return out.includes('running; press Ctrl-C');
  }, 60_000, 100);
  for (const line of (await os('server', 'list', '--all-projects', '-f', 'value', '-c', 'ID', '-c', 'Name')).trim().split('\n')) {
    const [id, name] = line.split(' ');
    ids[name!] = id!;
  }
});

after(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child!.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
});

test('openstack server list, server show (by id as admin, by name as the owner)', { skip }, async () => {
  assert.deepEqual(Object.keys(ids).sort(), ['demo-1', 'demo-2']);
  assert.match(await os('server', 'list', '--all-projects'), /demo-1.*ACTIVE/);
  assert.match(await cli('openstack', ['server', 'list'], asDemo), /demo-2/);
  assert.match(await os('server', 'show', ids['demo-1']!), /OS-EXT-SRV-ATTR:host\s+\|\s+compute-1/);
  assert.match(await cli('openstack', ['server', 'show', 'demo-2'], asDemo), /status\s+\|\s+ACTIVE/);
});

test('openstack compute service list and hypervisor list', { skip }, async () => {
  const services = await os('compute', 'service', 'list', '-f', 'value', '-c', 'Host', '-c', 'State', '-c', 'Status');
  assert.deepEqual(services.trim().split('\n').sort(), ['compute-1 enabled up', 'compute-2 enabled up', 'compute-3 enabled up']);
  assert.match(await os('hypervisor', 'list'), /compute-3/);
});

test('openstack server create --network none at 2.37+ builds an ACTIVE server', { skip }, async () => {
  const out = await os('server', 'create', '--flavor', 'm1.tiny', '--image', 'cirros', '--network', 'none', '--wait', '-f', 'value', '-c', 'id', 't-1');
  ids['t-1'] = out.trim();
  assert.match(await os('server', 'show', ids['t-1'], '-f', 'value', '-c', 'status'), /ACTIVE/);
});

test('live migrate, list, show, abort and force-complete with openstack; nova live-migration and server-migration-list', { skip }, async () => {
  await os('server', 'migrate', '--live-migration', '--host', 'compute-3', ids['demo-2']!);
  await os('server', 'migrate', '--live-migration', ids['demo-1']!);
  const listed = await os('server', 'migration', 'list', '--server', ids['demo-2']!, '-f', 'value', '-c', 'Id', '-c', 'Status', '-c', 'Dest Compute');
  const [mid, dest, status] = listed.trim().split(' ');
  assert.deepEqual([dest, status], ['compute-3', 'running']);
  assert.match(await os('server', 'migration', 'show', ids['demo-2']!, mid!), /Memory Total Bytes/);
  assert.match(await cli('nova', ['server-migration-list', ids['demo-1']!]), /running/);
  const mid1 = (await os('server', 'migration', 'list', '--server', ids['demo-1']!, '-f', 'value', '-c', 'Id')).trim();
  await os('server', 'migration', 'abort', ids['demo-2']!, mid!);
  await os('server', 'migration', 'force', 'complete', ids['demo-1']!, mid1);
  const host = (await os('server', 'show', ids['t-1']!, '-f', 'value', '-c', 'OS-EXT-SRV-ATTR:host')).trim();
  const target = host === 'compute-1' ? 'compute-3' : 'compute-1';
  await cli('nova', ['live-migration', ids['t-1']!, target]);
  await waitFor('abort and force-complete to finish', async () =>
    (await migrationStatus(ids['demo-2']!))[0] === 'cancelled' && (await migrationStatus(ids['demo-1']!))[0] === 'completed'
    && (await migrationStatus(ids['t-1']!))[0] === 'completed', 90_000, 1000);
  assert.match(await os('server', 'show', ids['t-1']!, '-f', 'value', '-c', 'OS-EXT-SRV-ATTR:host'), new RegExp(target));
  assert.match(await os('server', 'show', ids['demo-2']!, '-f', 'value', '-c', 'OS-EXT-SRV-ATTR:host'), /compute-2/);
  const all = await os('server', 'migration', 'list', '-f', 'value', '-c', 'Status');
  assert.deepEqual(all.trim().split('\n').sort(), ['cancelled', 'completed', 'completed']);
});

test('nova host-evacuate-live sends one live migration per server on the host', { skip }, async () => {
  const out = await cli('nova', ['host-evacuate-live', 'compute-2']);
  assert.match(out, new RegExp(`${ids['demo-2']}\\s+\\|\\s+True`));
  await waitFor('the evacuation to be accepted', async () => (await migrationStatus(ids['demo-2']!)).length === 2, 10_000, 200);
});

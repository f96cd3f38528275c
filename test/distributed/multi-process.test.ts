/**
 * End to end across OS processes on RabbitMQ and PostgreSQL: 1 api, 2 conductors and 3 fake computes,
 * each started as `baton api` / `baton conductor` / `baton compute`. Migrations are requested through
 * the store and a conductor cast (src/api/live-migration-request.ts, what the API does); the results
 * are read back through the API process over HTTP. A broker-side tap records every message
 * published to the exchange and proves that no compute ever sent one to another compute.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { isTerminal } from '../../src/core/migration-status.js';
import { ComputeMethod } from '../../src/rpc/compute-api.js';
import { seedFlavors, waitFor } from '../../src/services/cluster-ops.js';
import { createPostgresStore, dropPostgresSchema } from '../../src/store/postgres/postgres-store.js';
import type { MigrationRow, Store } from '../../src/store/store.js';
import { BrokerTap } from './broker-tap.js';
import { deleteBrokerObjects, ProcessGroup, type BatonProcess } from './process-harness.js';
import { AMQP_URL, gate, PG_URL, requireService } from '../store/service-gate.js';

const HOSTS = ['h1', 'h2', 'h3'] as const;
const INSTANCES_PER_HOST = 3;
const MIGRATIONS = 50;
const PARALLEL = 5;
const run = promisify(execFile);

const pgGate = await gate('PostgreSQL', PG_URL, 5432);
const amqpGate = await gate('RabbitMQ', AMQP_URL, 5672);
const skip = pgGate.skip || amqpGate.skip;

describe('distributed: 1 api, 2 conductors, 3 computes as processes on RabbitMQ + PostgreSQL', { skip, timeout: 300_000 }, () => {
  const id = `${process.pid}_${Date.now().toString(36)}`;
  const exchange = `baton-e2e-${id}`;
  const schema = `baton_e2e_${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'baton-e2e-'));
  const group = new ProcessGroup();
  const tap = new BrokerTap();
  const conductors: BatonProcess[] = [];
  let store: Store | undefined;
  let instances: string[] = [];
  let apiUrl = '';
  const busy = new Set<string>();

  before(async () => {
    requireService(pgGate);
    requireService(amqpGate);
    const configPath = join(dir, 'baton.json');
    writeFileSync(configPath, JSON.stringify({
      transport: { url: AMQP_URL, exchange },
      database: { url: PG_URL, schema, maxConnections: 4 },
      conductor: { tickMs: 200, startGraceMs: 3000, workflow: { retryBackoffMs: 500 } },
      // Journals and registries of this run only: host names repeat between runs, migration ids restart at 1.
      compute: { reportIntervalMs: 1000, stateDir: join(dir, 'compute') },
      api: { host: '127.0.0.1', port: 0, auth: { users: [{ name: 'admin', password: 'e2e-pw', project: 'admin', roles: ['admin'] }] } },
    }));
    await run('rabbitmqctl', ['-q', 'trace_on'], { timeout: 30_000 });
    await tap.open(AMQP_URL, exchange);
    store = await createPostgresStore({ url: PG_URL, schema, maxConnections: 4 });
    await seedFlavors(store);
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BATON')));
    Object.assign(env, { BATON_CONFIG: configPath, BATON_LOG_LEVEL: 'warn' });
    conductors.push(group.start('c1', ['conductor', '--name', 'c1'], env), group.start('c2', ['conductor', '--name', 'c2'], env));
    const computes = HOSTS.map((h) => group.start(h, ['compute', '--host', h, '--driver', 'fake'], env));
    const api = group.start('api', ['api'], env);
    await Promise.all([...conductors, ...computes, api].map((p) => p.waitFor(/ ready: /, 90_000)));
    apiUrl = /ready: (http:\/\/\S+)/.exec(await api.waitFor(/ready: http/, 1000))![1]!;
  });

  after(async () => {
    await group.stopAll();
    await ensureRabbitRunning();
    await run('rabbitmqctl', ['-q', 'trace_off'], { timeout: 30_000 }).catch(() => undefined);
    await tap.close();
    await store?.close().catch(() => undefined);
    await dropPostgresSchema(PG_URL, schema).catch(() => undefined);
    await deleteBrokerObjects(AMQP_URL, exchange, ['conductor', ...HOSTS.map((h) => `compute.${h}`)]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Migrates a random idle instance to a random other host (or lets the scheduler choose); asserts it completed. */
  async function migrateOne(): Promise<MigrationRow> {
    const idle = instances.filter((u) => !busy.has(u));
    const uuid = idle[Math.floor(Math.random() * idle.length)]!;
    busy.add(uuid);
    try {
      const inst = (await store!.repo.getInstance(uuid))!;
      const others = HOSTS.filter((h) => h !== inst.host);
      const dest = Math.random() < 0.5 ? null : others[Math.floor(Math.random() * others.length)]!;
      // As an operator would: through the API process, which records the migration and casts to a conductor.
      const requestedAt = Date.now();
      const res = await api(apiUrl, 'POST', `/v2.1/servers/${uuid}/action`, { 'os-migrateLive': { host: dest, block_migration: 'auto' } });
      assert.equal(res.status, 202, await res.clone().text());
      const m = (await store!.repo.listMigrations({ instanceUuid: uuid, limit: 1 }))[0];
      assert.ok(m !== undefined && m.createdAt >= requestedAt, 'the API recorded the migration before answering 202');
      const done = await waitFor(`migration ${m.id} of ${uuid}`, async () => {
        const r = await store!.repo.getMigration(m.id);
        return r && isTerminal(r.status) ? r : undefined;
      }, 30_000, 25);
      const steps = await store!.repo.listSteps(m.id);
      assert.equal(done.status, 'completed', `migration ${m.id}: ${done.error ?? ''}\n${JSON.stringify(steps)}\n${group.tails()}`);
      const after = (await store!.repo.getInstance(uuid))!;
      assert.equal(after.host, done.destCompute, 'the instance names the host it now runs on');
      assert.notEqual(after.host, inst.host);
      assert.equal(after.taskState, null);
      if (dest !== null) assert.equal(done.destCompute, dest);
      return done;
    } finally {
      busy.delete(uuid);
    }
  }

  async function migrateMany(n: number, parallel: number): Promise<{ rows: MigrationRow[]; maxInFlight: number }> {
    const rows: MigrationRow[] = [];
    let next = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (next < n) {
        next++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try { rows.push(await migrateOne()); } finally { inFlight--; }
      }
    }));
    return { rows, maxInFlight };
  }

  it('boots instances on every host', { timeout: 60_000 }, async () => {
    await waitFor('every compute to report', async () => (await store!.repo.listServices()).length === HOSTS.length, 30_000, 100);
    const made = [];
    for (const h of HOSTS) {
      for (let i = 0; i < INSTANCES_PER_HOST; i++) {
        const res = await api(apiUrl, 'POST', '/v2.1/servers',
          { server: { name: `vm-${h}-${i}`, flavorRef: 'm1.tiny', imageRef: 'cirros', host: h, networks: 'none' } });
        assert.equal(res.status, 202, await res.clone().text());
        made.push(((await res.json()) as { server: { id: string } }).server);
      }
    }
    instances = made.map((i) => i.id);
    await waitFor('every instance to become active', async () => {
      const all = await store!.repo.listInstances();
      if (all.some((i) => i.vmState === 'error')) throw new Error('an instance failed to build');
      return all.length === instances.length && all.every((i) => i.vmState === 'active');
    }, 30_000, 50);
  });

  it(`runs ${MIGRATIONS} live migrations between random hosts, ${PARALLEL} at once, and every one completes`, { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const { rows, maxInFlight } = await migrateMany(MIGRATIONS, PARALLEL);
    const ms = Date.now() - t0;
    assert.equal(rows.length, MIGRATIONS);
    assert.ok(maxInFlight > 1, 'several migrations ran at once');
    const byConductor = new Set(tap.seen.filter((t) => t.fromRole === 'conductor').map((t) => t.fromHost));
    assert.deepEqual([...byConductor].sort(), ['c1', 'c2'], 'both conductors drove migrations');
    assert.deepEqual(tap.computeToCompute(), [], 'no message went from one compute to another');
    const listed = await apiGet(apiUrl, '/v2.1/os-migrations?limit=1000') as { migrations: { status: string }[] };
    assert.equal(listed.migrations.filter((m) => m.status === 'completed').length, MIGRATIONS, 'the API process shows them completed');
    // The tap saw the calls too: both checks and pre_live_migration of every migration, from a conductor.
    const calls = tap.seen.filter((t) => t.fromRole === 'conductor' && t.kind === 'call' && t.method !== ComputeMethod.SPAWN);
    assert.ok(calls.length >= 3 * MIGRATIONS, `the tap recorded ${calls.length} calls to computes for ${MIGRATIONS} migrations`);
    const perHost = new Map<string, number>();
    for (const i of await store!.repo.listInstances()) perHost.set(i.host!, (perHost.get(i.host!) ?? 0) + 1);
    console.log(`# ${MIGRATIONS} migrations in ${ms} ms (${(ms / MIGRATIONS).toFixed(0)} ms each, ${PARALLEL} in parallel); `
      + `instances per host ${JSON.stringify(Object.fromEntries(perHost))}; tapped ${tap.seen.length} messages ${JSON.stringify(tap.summary())}`);
  });

  it('serves new migrations after one conductor is killed with SIGKILL while idle', { timeout: 60_000 }, async () => {
    await conductors[0]!.crash();
    const before = tap.seen.length;
    const { rows } = await migrateMany(5, 2);
    assert.equal(rows.length, 5);
    const drivers = new Set(tap.seen.slice(before).filter((t) => t.fromRole === 'conductor').map((t) => t.fromHost));
    assert.deepEqual([...drivers], ['c2'], 'the surviving conductor did the work');
    assert.deepEqual(tap.computeToCompute(), []);
  });

  it('reconnects every process after RabbitMQ is stopped for 5 s, then completes a migration', { timeout: 120_000 }, async () => {
    await tap.close();
    await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
    const stoppedAt = Date.now();
    try {
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      await run('rabbitmqctl', ['start_app'], { timeout: 60_000 });
      await run('rabbitmqctl', ['await_startup'], { timeout: 60_000 });
    }
    const restartedAt = Date.now();
    console.log(`# RabbitMQ down for ${restartedAt - stoppedAt} ms`);
    await run('rabbitmqctl', ['-q', 'trace_on'], { timeout: 30_000 });
    await tap.open(AMQP_URL, exchange);
    for (const p of group.all.filter((x) => x !== conductors[0])) assert.equal(p.exited, false, `${p.name} survived the outage:\n${p.tail()}`);
    // A heartbeat that arrives after the restart has travelled compute -> broker -> conductor -> store.
    await waitFor('every compute to report through the restarted broker', async () => {
      const s = await store!.repo.listServices();
      return s.length === HOSTS.length && s.every((h) => h.lastHeartbeat > restartedAt);
    }, 30_000, 200);
    console.log(`# every compute reported again ${Date.now() - restartedAt} ms after the restart`);
    const { rows } = await migrateMany(3, 1);
    assert.equal(rows.length, 3);
    assert.deepEqual(tap.computeToCompute(), []);
  });
});

let token: string | null = null;

/** A request to the API process at the newest microversion, authenticated as its configured admin (Keystone password method). */
async function api(base: string, method: string, path: string, body?: unknown): Promise<Response> {
  if (token === null) {
    const scope = { project: { name: 'admin', domain: { id: 'default' } } };
    const auth = await fetch(`${base}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' },
        password: 'e2e-pw' } } }, scope } }) });
    assert.equal(auth.status, 201, await auth.clone().text());
    token = auth.headers.get('x-subject-token')!;
  }
  return fetch(`${base}${path}`, { method, headers: { 'x-auth-token': token, 'openstack-api-version': 'compute 2.92',
    ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

async function apiGet(base: string, path: string): Promise<unknown> {
  const res = await api(base, 'GET', path);
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

async function ensureRabbitRunning(): Promise<void> {
  try {
    await run('rabbitmqctl', ['-q', 'await_startup', '--timeout', '2'], { timeout: 10_000 });
  } catch {
    await run('rabbitmqctl', ['start_app'], { timeout: 60_000 }).catch(() => undefined);
    await run('rabbitmqctl', ['await_startup'], { timeout: 60_000 }).catch(() => undefined);
  }
}

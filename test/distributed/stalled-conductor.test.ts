/**
 * A conductor frozen with SIGSTOP while it holds a migration's row lock (RabbitMQ + PostgreSQL, every
 * role a process). The other conductor keeps firing deadlines within two ticks, the frozen session is
 * ended by the server (idle_in_transaction_session_timeout) so the held migration goes on without it,
 * and the thawed conductor carries on. Costs only the held migration's time.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { requestLiveMigration, type RequestDeps } from '../../src/api/live-migration-request.js';
import { BatonError } from '../../src/core/errors.js';
import { isTerminal } from '../../src/core/migration-status.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import type { Transport } from '../../src/rpc/transport.js';
import { createAmqpTransport } from '../../src/rpc/transports/amqp/amqp-transport.js';
import { InProcessBus } from '../../src/rpc/transports/in-process-transport.js';
import { randomIds, systemClock } from '../../src/runtime/system-clock.js';
import { bootInstance, waitFor, waitForMigration } from '../../src/services/cluster-ops.js';
import { createPostgresStore, dropPostgresSchema } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { deleteBrokerObjects, ProcessGroup, type BatonProcess } from './process-harness.js';
import { AMQP_URL, gate, PG_URL, requireService } from '../store/service-gate.js';

const HOSTS = ['h1', 'h2'] as const;
const TICK_MS = 200;
const IDLE_TX_MS = 3000;
/** Two ticks, plus room for the transaction itself on a busy machine. */
const TWO_TICKS_MS = 2 * TICK_MS + 400;
const LOADED = 6;
const LOST_STARTS = 3;

const pgGate = await gate('PostgreSQL', PG_URL, 5432);
const amqpGate = await gate('RabbitMQ', AMQP_URL, 5672);

describe('stalled conductor: SIGSTOP while holding a migration row (processes on RabbitMQ + PostgreSQL)',
  { skip: pgGate.skip || amqpGate.skip, timeout: 240_000 }, () => {
    const id = `${process.pid}_${Date.now().toString(36)}`;
    const exchange = `baton-stall-${id}`;
    const schema = `baton_stall_${id}`;
    const dir = mkdtempSync(join(tmpdir(), 'baton-stall-'));
    const group = new ProcessGroup();
    let c1: BatonProcess;
    let store: Store;
    let transport: Transport | undefined;
    let deps: RequestDeps;
    let instances: string[] = [];

    before(async () => {
      requireService(pgGate);
      requireService(amqpGate);
      const configPath = join(dir, 'baton.json');
      writeFileSync(configPath, JSON.stringify({
        // A 2 s AMQP heartbeat: the broker gives the frozen conductor's unacknowledged messages to the other one soon.
        transport: { url: AMQP_URL, exchange, heartbeatSec: 2 },
        database: { url: PG_URL, schema, maxConnections: 4, lockTimeoutMs: 1000, idleInTransactionTimeoutMs: IDLE_TX_MS },
        conductor: { tickMs: TICK_MS, startGraceMs: 1000, workflow: { checkTimeoutMs: 3000, preTimeoutMs: 3000, migrateStallMs: 3000,
          postTimeoutMs: 3000, rollbackTimeoutMs: 3000, queryTimeoutMs: 1000, retryBackoffMs: 300 } },
        // Copies that last about half a second with progress every 100 ms: the conductors are in transactions often.
        compute: { reportIntervalMs: 1000, progressIntervalMs: 100, stateDir: join(dir, 'compute'), fake: { bandwidthMibs: 1024 } },
      }));
      store = await createPostgresStore({ url: PG_URL, schema, maxConnections: 4 });
      const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BATON')));
      Object.assign(env, { BATON_CONFIG: configPath, BATON_LOG_LEVEL: 'warn' });
      c1 = group.start('c1', ['conductor', '--name', 'c1'], env);
      const c2 = group.start('c2', ['conductor', '--name', 'c2'], env);
      const computes = HOSTS.map((h) => group.start(h, ['compute', '--host', h, '--driver', 'fake'], env));
      await Promise.all([c1, c2, ...computes].map((p) => p.waitFor(/ ready: /, 90_000)));
      transport = await createAmqpTransport({ url: AMQP_URL, exchange, heartbeatSec: 2 });
      deps = { store, rpc: new RpcClient(transport, { role: 'api', host: 'stall-test' }), clock: systemClock, ids: randomIds, startGraceMs: 1000 };
      await waitFor('every compute to report', async () => (await store.repo.listServices()).length === HOSTS.length, 30_000, 100);
      await waitFor('the default flavors', async () => (await store.repo.getFlavor('m1.tiny')) !== undefined, 10_000, 50);
      const made = [];
      for (let i = 0; i < LOADED + LOST_STARTS; i++) made.push(await bootInstance(deps, `stall-vm-${i}`, 'm1.tiny', 'h1', 30_000));
      instances = made.map((i) => i.uuid);
    });

    after(async () => {
      await group.stopAll();
      await transport?.close().catch(() => undefined);
      await store?.close().catch(() => undefined);
      await dropPostgresSchema(PG_URL, schema).catch(() => undefined);
      await deleteBrokerObjects(AMQP_URL, exchange, ['conductor', ...HOSTS.map((h) => `compute.${h}`)]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });

    /** Migrates one instance back and forth until told to stop; returns the ids of its migrations. */
    async function shuttle(uuid: string, stop: { now: boolean }): Promise<number[]> {
      const ids: number[] = [];
      while (!stop.now) {
        const inst = (await store.repo.getInstance(uuid))!;
        try {
          const m = await requestLiveMigration(deps, { instanceUuid: uuid, host: inst.host === 'h1' ? 'h2' : 'h1', blockMigration: 'auto',
            projectId: 'p', userId: 'u' });
          ids.push(m.id);
          await waitForMigration(store, m.id, 60_000);
        } catch (e) {
          if (!(e instanceof BatonError && e.code === 'InstanceInvalidState')) throw e;
          await delay(100);
        }
      }
      return ids;
    }

    /** SIGSTOPs c1 until it is caught idle in a transaction holding migration rows (and no service row); returns those rows. */
    async function freezeHoldingARow(): Promise<number[]> {
      for (let attempt = 0; attempt < 1000; attempt++) {
        await delay(Math.random() * 40);
        c1.freeze();
        await delay(30); // the statement it had sent completes on the server
        const held = await heldBy('baton-conductor c1');
        if (held.migrations.length > 0 && !held.services) return held.migrations;
        c1.thaw();
      }
      throw new Error('never caught c1 holding a migration row');
    }

    /** The migration rows held by idle-in-transaction sessions of `app`, stable over 100 ms (others' locks come and go). */
    async function heldBy(app: string): Promise<{ migrations: number[]; services: boolean }> {
      const sessions = await sql<{ rel: string }>(`SELECT l.relation::regclass::text AS rel FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE a.application_name = $1 AND a.state = 'idle in transaction' AND l.mode = 'RowShareLock'`, [app]);
      const rels = new Set(sessions.map((s) => s.rel.replace(/^.*\./, '')));
      if (!rels.has('migrations')) return { migrations: [], services: rels.has('services') };
      const locked = async () => (await sql<{ id: number }>(`SELECT id FROM "${schema}".migrations
        WHERE id NOT IN (SELECT id FROM "${schema}".migrations FOR UPDATE SKIP LOCKED)`)).map((r) => Number(r.id));
      const first = await locked();
      await delay(100);
      const second = new Set(await locked());
      return { migrations: first.filter((m) => second.has(m)), services: rels.has('services') };
    }

    async function sql<R>(text: string, values: unknown[] = []): Promise<R[]> {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        return (await c.query(text, values)).rows as R[];
      } finally {
        await c.end();
      }
    }

    it('the other conductor fires deadlines within two ticks; the held migration resumes once the server ends the frozen session',
      { timeout: 180_000 }, async () => {
        const stop = { now: false };
        const load = instances.slice(0, LOADED).map((u) => shuttle(u, stop));
        const held = await freezeHoldingARow();
        const frozeAt = Date.now();
        stop.now = true;
        try {
          // Lost start messages: only a conductor's timer starts these, and only c2 is awake.
          const lost = new InProcessBus().transport();
          const lostDeps: RequestDeps = { ...deps, rpc: new RpcClient(lost, { role: 'api', host: 'lost' }), startGraceMs: 500 };
          const dueAt = Date.now() + 500;
          const starts = await Promise.all(instances.slice(LOADED).map((u) =>
            requestLiveMigration(lostDeps, { instanceUuid: u, host: 'h2', blockMigration: 'auto', projectId: 'p', userId: 'u' })));
          for (const m of starts) {
            const fired = await waitFor(`lost start ${m.id} to fire`, async () =>
              (await store.repo.getMigration(m.id))?.state.history.find((h) => h.status !== 'accepted')?.at, 10_000, 20);
            assert.ok(fired - Math.max(dueAt, m.nextWakeup!) <= TWO_TICKS_MS,
              `migration ${m.id} fired ${fired - m.nextWakeup!} ms after its deadline while c1 was frozen\n${group.tails()}`);
          }
          // The server ends c1's frozen transaction; its migration goes on, driven by c2.
          await waitFor('the frozen session to be ended', async () => (await heldBy('baton-conductor c1')).migrations.length === 0, IDLE_TX_MS + 5000, 100);
          for (const m of held) {
            const row = await waitForMigration(store, m, 60_000);
            assert.ok(isTerminal(row.status), `held migration ${m}: ${row.status}`);
          }
          console.log(`# c1 frozen holding migration(s) ${held.join(', ')}; they ended ${Date.now() - frozeAt} ms after the freeze`);
          for (const m of starts) assert.equal((await waitForMigration(store, m.id, 60_000)).status, 'completed');
        } finally {
          c1.thaw();
        }
        await Promise.all(load);
        await delay(2000);
        assert.equal(c1.exited, false, `the thawed conductor keeps running:\n${c1.tail()}`);
        // The thawed conductor serves again: every loaded instance migrates once more.
        for (const u of instances.slice(0, 2)) {
          const inst = (await store.repo.getInstance(u))!;
          const m = await requestLiveMigration(deps, { instanceUuid: u, host: inst.host === 'h1' ? 'h2' : 'h1', blockMigration: 'auto', projectId: 'p', userId: 'u' });
          assert.equal((await waitForMigration(store, m.id, 30_000)).status, 'completed');
        }
        const all = await store.repo.listMigrations();
        assert.ok(all.every((m) => isTerminal(m.status)), all.filter((m) => !isTerminal(m.status)).map((m) => `${m.id} ${m.status}`).join(', '));
        assert.deepEqual(await store.repo.listClaims(), [], 'no claim outlives its migration');
      });
  });

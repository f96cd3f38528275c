/**
 * Several Baton deployments in one PostgreSQL database, one schema each: they start together or one
 * after another, keep their migration bookkeeping in their own schema, and never see each other's rows.
 */
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { createPostgresStore, dropPostgresSchema } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { backends, type Database } from './store-backends.js';
import { PG_URL, requireService } from './service-gate.js';
import { host, insertMigration, instance, SMALL } from './store-fixtures.js';
import { schemaMigrationNames } from '../../src/store/schema-migrations.js';

const pgBackend = (await backends()).find((b) => b.name === 'postgres')!;

async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** The schema migrations a deployment's own bookkeeping records, read from its schema only. */
async function bookkeeping(schema: string): Promise<string[]> {
  const rows = await query<{ name: string }>(`SELECT name FROM "${schema}".baton_schema_migrations ORDER BY name`);
  return rows.map((r) => r.name);
}

/** Uses a deployment the way Baton does: a host, an instance, a migration; returns what it can see. */
async function work(store: Store, tag: string) {
  await store.repo.upsertFlavor(SMALL);
  const src = host(`${tag}-src`);
  await store.repo.upsertService(src);
  const inst = instance(`${tag}-vm`, src.host);
  await store.repo.insertInstance(inst);
  const m = await insertMigration(store.repo, `${tag}-mig`, inst, src);
  return { id: m.id, hosts: (await store.repo.listServices()).map((s) => s.host), migrations: (await store.repo.listMigrations()).map((r) => r.uuid) };
}

describe('two deployments in one database: postgres', { skip: pgBackend.gate.skip, timeout: 60_000 }, () => {
  const opened: Database[] = [];
  const schemas: string[] = [];
  after(async () => {
    for (const d of opened) await d.dispose();
    for (const s of schemas) await dropPostgresSchema(PG_URL, s).catch(() => undefined);
  });

  it('two deployments start at the same time, each with two processes, and work independently', async () => {
    requireService(pgBackend.gate);
    const started = await Promise.allSettled([pgBackend.fresh(), pgBackend.fresh()]);
    for (const r of started) if (r.status === 'fulfilled') opened.push(r.value);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    const [a, b] = opened.slice(-2);
    const [a2, b2] = await Promise.all([a!.another(), b!.another()]);
    const [wa, wb] = await Promise.all([work(a2!, 'a'), work(b2!, 'b')]);
    assert.deepEqual(wa, { id: 1, hosts: ['a-src'], migrations: ['a-mig'] });
    assert.deepEqual(wb, { id: 1, hosts: ['b-src'], migrations: ['b-mig'] }, 'ids, hosts and migrations of its own only');
    for (const d of [a!, b!]) assert.deepEqual(await bookkeeping(d.pgSchema!), await schemaMigrationNames('postgres'));
  });

  it('a deployment starts in a database whose other schema already holds one, and the first restarts', async () => {
    requireService(pgBackend.gate);
    const first = await pgBackend.fresh();
    opened.push(first);
    await work(first.store, 'first');
    // This is where a second deployment used to fail: relation "baton_schema_lock" does not exist.
    const second = await pgBackend.fresh();
    opened.push(second);
    assert.deepEqual((await work(second.store, 'second')).hosts, ['second-src']);
    const restarted = await first.another();
    assert.deepEqual((await restarted.repo.listServices()).map((s) => s.host), ['first-src'], 'the first one still sees only its own');
    assert.deepEqual(await bookkeeping(second.pgSchema!), await schemaMigrationNames('postgres'));
  });

  it('the start-up lock is per schema: one deployment migrating does not hold up another', async () => {
    requireService(pgBackend.gate);
    const tag = `${process.pid}_${Date.now().toString(36)}`;
    const [busy, free] = [`baton_lock_busy_${tag}`, `baton_lock_free_${tag}`];
    schemas.push(busy, free);
    // Another process of the "busy" deployment is in the middle of its start-up migration.
    const holder = new pg.Client({ connectionString: PG_URL });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [0x6261746f, busy]);
    let busyStore: Store | undefined;
    const busyStart = createPostgresStore({ url: PG_URL, schema: busy }).then((s) => { busyStore = s; return s; });
    try {
      const freeStore = await createPostgresStore({ url: PG_URL, schema: free });
      await freeStore.close();
      assert.equal(busyStore, undefined, 'the busy deployment waits for its own lock');
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1, hashtext($2))', [0x6261746f, busy]);
      await holder.end();
    }
    await (await busyStart).close();
  });
});

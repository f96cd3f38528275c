/**
 * Several conductors, one migration: two WorkflowEngine instances race on every event of the same
 * migrations. Each transition must be applied exactly once (every step attempt sent once, no duplicate
 * journal rows) and every migration must end consistent. PostgreSQL races two independent pools
 * (row locks); SQLite races over its single writer. A stale-read test proves the version check alone.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { WorkflowEngine } from '../../src/conductor/workflow-engine.js';
import type { WorkflowEvent } from '../../src/core/migration-state.js';
import { VersionConflict, type MigrationRow, type Repo, type Store } from '../../src/store/store.js';
import { answers, recordingEngine as engine, type Sent } from './engine-fixtures.js';
import { backends, type Database } from './store-backends.js';
import { requireService } from './service-gate.js';
import { host, insertMigration, instance, SMALL, T0 } from './store-fixtures.js';

const MIGRATIONS = 8;

/** Delivers every event to both engines at once, the way a redelivered message reaches two conductors. */
async function drive(engines: readonly WorkflowEngine[], sent: Sent[], id: number): Promise<void> {
  let seen = 0;
  // Which engine asks first varies, so each wins some of the races.
  const race = (e: WorkflowEvent) => Promise.all((Math.random() < 0.5 ? engines : [...engines].reverse()).map((en) => en.apply(id, e)));
  // The start goes to one engine (alternating by migration), so both engines certainly do part of the work;
  // every later event goes to both at once.
  await engines[id % engines.length]!.apply(id, { type: 'start' });
  for (let round = 0; round < 50; round++) {
    const mine = sent.filter((s) => s.migrationId === id);
    const fresh = mine.slice(seen);
    seen = mine.length;
    if (fresh.length === 0) return;
    await Promise.all(fresh.map(async (s) => { for (const e of answers(s.cmd)) await race(e); }));
  }
  throw new Error(`migration ${id} still sending after 50 rounds`);
}

async function seed(repo: Repo): Promise<MigrationRow[]> {
  const src = host('src');
  await repo.upsertService({ ...src, lastHeartbeat: T0 });
  await repo.upsertService({ ...host('dst'), lastHeartbeat: T0 });
  await repo.upsertFlavor(SMALL);
  const rows: MigrationRow[] = [];
  for (let i = 0; i < MIGRATIONS; i++) {
    const inst = instance(`race-${i}`, 'src');
    await repo.insertInstance(inst);
    rows.push(await insertMigration(repo, `race-mig-${i}`, inst, src, i % 2 === 0 ? 'dst' : null));
  }
  return rows;
}

async function assertExactlyOnce(store: Store, sent: Sent[], m: MigrationRow): Promise<void> {
  const row = (await store.repo.getMigration(m.id))!;
  assert.equal(row.status, 'completed', `migration ${m.id}: ${row.error ?? ''}`);
  const mine = sent.filter((s) => s.migrationId === m.id).map((s) => `${s.cmd.step}#${s.cmd.attempt}`);
  assert.deepEqual(mine.length, new Set(mine).size, `a step attempt was sent twice: ${mine.join(', ')}`);
  assert.equal(mine.length, 6, `the six steps of a clean migration: ${mine.join(', ')}`);
  const steps = await store.repo.listSteps(m.id);
  assert.equal(steps.length, 6);
  assert.ok(steps.every((s) => s.status === 'done' && s.attempt === 1), JSON.stringify(steps));
  assert.equal((await store.repo.getInstance(m.instanceUuid))?.host, 'dst', 'the instance names its new host');
  assert.deepEqual(await store.repo.listClaims(), [], 'claims released');
  const history = row.state.history.map((h) => h.status);
  assert.deepEqual(history, ['accepted', 'queued', 'preparing', 'running', 'post-migrating', 'completed']);
}

/** A store whose first load of a migration returns a row read earlier: a writer that lost the race. */
function staleOnce(inner: Store, stale: MigrationRow, conflicts: { n: number }): Store {
  let served = false;
  const wrap = (tx: Repo): Repo => new Proxy(tx, {
    get(target, prop) {
      if (prop === 'getMigration') {
        return async (id: number, o?: { forUpdate?: boolean }) => {
          if (!served && id === stale.id) { served = true; return stale; }
          return target.getMigration(id, o);
        };
      }
      if (prop === 'saveMigration') {
        return (...a: Parameters<Repo['saveMigration']>) => target.saveMigration(...a).catch((e: unknown) => {
          if (e instanceof VersionConflict) conflicts.n++;
          throw e;
        });
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { engine: inner.engine, repo: inner.repo, close: () => inner.close(), transaction: (fn) => inner.transaction((tx) => fn(wrap(tx))) };
}

for (const backend of await backends()) {
  describe(`conductor race: ${backend.name}`, { skip: backend.gate.skip }, () => {
    let db: Database;
    before(async () => { requireService(backend.gate); db = await backend.fresh(); });
    after(async () => { await db?.dispose(); });

    it(`applies each transition once when two engines take every event of ${MIGRATIONS} migrations`, async () => {
      const rows = await seed(db.store.repo);
      // PostgreSQL: a second pool, as a second conductor process has. SQLite: one connection, its single writer.
      const other = backend.name === 'postgres' ? await db.another() : db.store;
      const sent: Sent[] = [];
      const engines = [engine('a', db.store, sent), engine('b', other, sent)];
      await Promise.all(rows.map((m) => drive(engines, sent, m.id)));
      for (const m of rows) await assertExactlyOnce(db.store, sent, m);
      assert.ok(new Set(sent.map((s) => s.engine)).size === 2, 'both engines did part of the work');
    });

    it('a writer that read a stale version retries on the fresh state and sends nothing twice (version check alone)', async () => {
      const src = host('src');
      const inst = instance('stale-1', 'src');
      await db.store.repo.insertInstance(inst);
      const m = await insertMigration(db.store.repo, 'stale-mig', inst, src, 'dst');
      const sent: Sent[] = [];
      const a = engine('a', db.store, sent);
      await a.apply(m.id, { type: 'start' });
      await a.apply(m.id, { type: 'done', step: 'check_can_live_migrate_destination', attempt: 1, result: {} });
      const before = (await db.store.repo.getMigration(m.id))!;
      await a.apply(m.id, { type: 'done', step: 'check_can_live_migrate_source', attempt: 1, result: {} });
      assert.deepEqual(sent.map((s) => s.cmd.step).filter((s) => s === 'pre_live_migration'), ['pre_live_migration']);
      const conflicts = { n: 0 };
      const b = engine('b', staleOnce(db.store, before, conflicts), sent);
      const state = await b.apply(m.id, { type: 'done', step: 'check_can_live_migrate_source', attempt: 1, result: {} });
      assert.equal(conflicts.n, 1, 'the stale save was refused');
      assert.equal(state, undefined, 'on the fresh state the event changes nothing');
      assert.equal(sent.filter((s) => s.cmd.step === 'pre_live_migration').length, 1, 'pre_live_migration sent once');
      const after = (await db.store.repo.getMigration(m.id))!;
      assert.equal(after.version, before.version + 1);
      assert.equal(after.status, 'preparing');
      const steps = await db.store.repo.listSteps(m.id);
      assert.equal(steps.filter((s) => s.step === 'pre_live_migration').length, 1);
    });
  });
}

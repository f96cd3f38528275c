/**
 * One active migration per instance, enforced by the database on both engines: requests that race
 * (from several API processes: several pools on PostgreSQL, several connections in other threads on
 * SQLite) end with exactly one migration, and every other request gets Nova's 409.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { BatonError } from '../../src/core/errors.js';
import type { Store } from '../../src/store/store.js';
import { request, type Outcome } from './admission-fixtures.js';
import { backends, type Database } from './store-backends.js';
import { requireService } from './service-gate.js';
import { host, insertMigration, instance, SMALL, T0 } from './store-fixtures.js';

const REQUESTS = 16;
const HANDLES = 4;

/** HANDLES worker threads on the SQLite file, REQUESTS in all, released together. */
async function sqliteBurst(path: string, instanceUuid: string): Promise<Outcome[]> {
  const url = new URL('./sqlite-request-worker.ts', import.meta.url).href;
  const workers = Array.from({ length: HANDLES }, () => new Worker(
    `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`,
    { eval: true, workerData: { path, instanceUuid, requests: REQUESTS / HANDLES } }));
  try {
    await Promise.all(workers.map((w) => once(w, 'message')));
    const results = workers.map((w) => once(w, 'message'));
    for (const w of workers) w.postMessage('go');
    return (await Promise.all(results)).flatMap(([outcomes]) => outcomes as Outcome[]);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** HANDLES independent pools (as HANDLES API processes have), REQUESTS in all, sent at once. */
async function postgresBurst(db: Database, instanceUuid: string): Promise<Outcome[]> {
  const stores: Store[] = [db.store];
  while (stores.length < HANDLES) stores.push(await db.another());
  return Promise.all(Array.from({ length: REQUESTS }, (_, i) => request(stores[i % HANDLES]!, instanceUuid, 'dst')));
}

for (const backend of await backends()) {
  describe(`admission: ${backend.name}`, { skip: backend.gate.skip }, () => {
    let db: Database;
    before(async () => {
      requireService(backend.gate);
      db = await backend.fresh();
      await db.store.repo.upsertService(host('src'));
      await db.store.repo.upsertService(host('dst'));
      await db.store.repo.upsertFlavor(SMALL);
    });
    after(async () => { await db?.dispose(); });

    it('the database refuses a second active migration of one instance, with 409 InstanceInvalidState', async () => {
      const repo = db.store.repo;
      const inst = instance('dup-1', 'src');
      await repo.insertInstance(inst);
      const first = await insertMigration(repo, 'dup-mig-1', inst, host('src'));
      // Straight to the repo, past the API's task_state check: only the database stands in the way.
      await assert.rejects(insertMigration(repo, 'dup-mig-2', inst, host('src')), (e) => {
        assert.ok(e instanceof BatonError, String(e));
        assert.equal(e.code, 'InstanceInvalidState');
        assert.equal(e.httpStatus, 409);
        assert.match(e.message, /dup-1/);
        return true;
      });
      await insertMigration(repo, 'dup-old', inst, host('src'), null, { status: 'completed' });
      assert.deepEqual((await repo.listMigrations({ instanceUuid: inst.uuid })).map((m) => m.uuid).sort(), ['dup-mig-1', 'dup-old'],
        'terminal migrations do not count, and the refused one left nothing behind');
      await repo.saveMigration(first.id, first.version, { state: { ...first.state, status: 'failed' }, status: 'failed', destCompute: null,
        progress: first.progress, nextWakeup: null, admission: null, error: 'x', updatedAt: T0 + 1 });
      const next = await insertMigration(repo, 'dup-mig-3', inst, host('src'));
      assert.equal(next.status, 'accepted', 'once the first has ended, a new one is accepted');
    });

    it(`${REQUESTS} concurrent live-migration requests for one instance: exactly one is accepted, every other gets 409`, async () => {
      const inst = instance('burst-1', 'src');
      await db.store.repo.insertInstance(inst);
      const outcomes = backend.name === 'sqlite' ? await sqliteBurst(db.sqlitePath!, inst.uuid) : await postgresBurst(db, inst.uuid);
      assert.equal(outcomes.length, REQUESTS);
      const accepted = outcomes.filter((o) => 'accepted' in o);
      const refused = outcomes.filter((o) => 'refused' in o);
      assert.equal(accepted.length, 1, JSON.stringify(outcomes));
      assert.deepEqual(new Set(refused.map((o) => `${o.refused} ${o.status}`)), new Set(['InstanceInvalidState 409']), JSON.stringify(refused));
      const rows = await db.store.repo.listMigrations({ instanceUuid: inst.uuid });
      assert.deepEqual(rows.map((m) => m.id), accepted.map((o) => o.accepted), 'one migration record, the accepted one');
      assert.equal((await db.store.repo.getInstance(inst.uuid))?.taskState, 'migrating');
    });
  });
}

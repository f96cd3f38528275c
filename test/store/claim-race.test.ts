/**
 * Race-free claims: many migrations scheduled at once toward hosts with room for one each, by several
 * engines on independent pools (as several conductors are) on PostgreSQL, over the single writer on
 * SQLite. Usage never exceeds capacity, even as seen by a reader during the race, and no claim outlives
 * its migration.
 */
import { strict as assert } from 'node:assert';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { WorkflowEngine } from '../../src/conductor/workflow-engine.js';
import { isTerminal } from '../../src/core/migration-status.js';
import type { ComputeHost } from '../../src/core/model.js';
import type { MigrationRow, Store } from '../../src/store/store.js';
import { answerAll, recordingEngine, type Sent } from './engine-fixtures.js';
import { backends, type Database } from './store-backends.js';
import { requireService } from './service-gate.js';
import { host, insertMigration, instance, SMALL } from './store-fixtures.js';

const MIGRATIONS = 20;
const ENGINES = 4;

/** Room for exactly one m1.small: its memory, at a RAM ratio of 1. */
const oneSlot = (name: string): ComputeHost => host(name, { memoryMb: SMALL.memoryMb, ratios: { cpu: 16, ram: 1, disk: 1.1 } });

interface Race { readonly rows: MigrationRow[]; readonly engines: WorkflowEngine[]; readonly sent: Sent[]; readonly peak: Map<string, number> }

/** Starts every migration at once, spread over the engines, while a reader samples the targets' usage. */
async function race(db: Database, backend: string, prefix: string, requestedHost: string | null, targets: readonly string[]): Promise<Race> {
  const src = host(`${prefix}-src`);
  await db.store.repo.upsertService(src);
  for (const t of targets) await db.store.repo.upsertService(oneSlot(t));
  const rows: MigrationRow[] = [];
  for (let i = 0; i < MIGRATIONS; i++) {
    const inst = instance(`${prefix}-${i}`, src.host);
    await db.store.repo.insertInstance(inst);
    rows.push(await insertMigration(db.store.repo, `${prefix}-mig-${i}`, inst, src, requestedHost));
  }
  // PostgreSQL: independent pools, as separate conductor processes have. SQLite: its one writer.
  const stores: Store[] = [db.store];
  while (stores.length < ENGINES) stores.push(backend === 'postgres' ? await db.another() : db.store);
  const sent: Sent[] = [];
  const engines = stores.map((s, i) => recordingEngine(`e${i}`, s, sent));
  const peak = new Map<string, number>(targets.map((t) => [t, 0]));
  let racing = true;
  const sampler = (async () => {
    while (racing) {
      const usage = await db.store.repo.hostUsage();
      for (const t of targets) peak.set(t, Math.max(peak.get(t)!, usage.get(t)?.memoryMb ?? 0));
    }
  })();
  try {
    await Promise.all(rows.map((m, i) => engines[i % ENGINES]!.apply(m.id, { type: 'start' })));
  } finally {
    racing = false;
    await sampler;
  }
  return { rows, engines, sent, peak };
}

/** Every claim belongs to a migration still in flight. */
async function assertNoStaleClaim(store: Store): Promise<void> {
  for (const c of await store.repo.listClaims()) {
    const m = await store.repo.getMigration(c.migrationId);
    assert.ok(m && !isTerminal(m.status), `claim of migration ${c.migrationId} outlived it (${m?.status})`);
  }
}

for (const backend of await backends()) {
  describe(`claims: ${backend.name}`, { skip: backend.gate.skip }, () => {
    // A database per test: the scheduler considers every host it holds.
    let db: Database;
    beforeEach(async () => {
      requireService(backend.gate);
      db = await backend.fresh();
      await db.store.repo.upsertFlavor(SMALL);
    });
    afterEach(async () => { await db?.dispose(); });

    it(`${MIGRATIONS} concurrent migrations to a host with room for one: one claim, the rest refused, none left behind`, async () => {
      const r = await race(db, backend.name, 'named', 'one', ['one']);
      assert.ok(r.peak.get('one')! <= SMALL.memoryMb, `usage on "one" peaked at ${r.peak.get('one')} MiB of ${SMALL.memoryMb}`);
      const claims = await db.store.repo.listClaims('one');
      assert.equal(claims.length, 1, JSON.stringify(claims));
      const after = await Promise.all(r.rows.map(async (m) => (await db.store.repo.getMigration(m.id))!));
      const winner = after.find((m) => m.id === claims[0]!.migrationId)!;
      assert.equal(winner.status, 'queued', 'scheduled: its checks are under way');
      const losers = after.filter((m) => m !== winner);
      assert.deepEqual(new Set(losers.map((m) => m.status)), new Set(['error']));
      assert.ok(losers.every((m) => /lack of memory/.test(m.error ?? '')), losers.map((m) => m.error).join('\n'));
      await assertNoStaleClaim(db.store);
      // The winner runs to completion: its claim turns into the instance on the host, and goes.
      await answerAll(r.engines[0]!, r.sent, winner.id);
      assert.equal((await db.store.repo.getMigration(winner.id))?.status, 'completed');
      assert.deepEqual(await db.store.repo.listClaims(), []);
      assert.deepEqual((await db.store.repo.hostUsage('one')).get('one')?.memoryMb, SMALL.memoryMb);
    });

    it(`${MIGRATIONS} concurrent migrations, the scheduler choosing among two one-slot hosts: one claim on each`, async () => {
      const r = await race(db, backend.name, 'pick', null, ['slot-a', 'slot-b']);
      for (const t of ['slot-a', 'slot-b']) assert.ok(r.peak.get(t)! <= SMALL.memoryMb, `usage on ${t} peaked at ${r.peak.get(t)} MiB`);
      const claims = await db.store.repo.listClaims();
      assert.deepEqual(claims.map((c) => c.host).sort(), ['slot-a', 'slot-b']);
      const statuses = await Promise.all(r.rows.map(async (m) => (await db.store.repo.getMigration(m.id))!.status));
      assert.equal(statuses.filter((s) => s === 'queued').length, 2);
      assert.equal(statuses.filter((s) => s === 'error').length, MIGRATIONS - 2);
      await assertNoStaleClaim(db.store);
      for (const c of claims) await answerAll(r.engines[0]!, r.sent, c.migrationId);
      assert.deepEqual(await db.store.repo.listClaims(), []);
    });
  });
}

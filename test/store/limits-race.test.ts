/**
 * Concurrency limits under concurrent conductors: 30 migrations from six hosts started at once by 4
 * engines on independent pools (PostgreSQL; SQLite's single writer for comparison), then driven to the
 * end by the same engines in parallel, ticking only what the store says is due (what a wake-up made due).
 * A reader sampling the slot counts never sees a limit exceeded, and every migration completes.
 */
import { strict as assert } from 'node:assert';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { wakeQueueNow } from '../../src/conductor/admission-queue.js';
import { conductorConfig } from '../../src/conductor/conductor-config.js';
import { WorkflowEngine } from '../../src/conductor/workflow-engine.js';
import type { MigrationLimits } from '../../src/core/admission.js';
import { isTerminal } from '../../src/core/migration-status.js';
import type { MigrationRow, Store } from '../../src/store/store.js';
import { answers, type Sent } from './engine-fixtures.js';
import { backends, type Database } from './store-backends.js';
import { requireService } from './service-gate.js';
import { host, insertMigration, instance, SMALL, T0 } from './store-fixtures.js';

const LIMITS: MigrationLimits = { perHostOutbound: 2, perHostInbound: 2, cluster: 3, hosts: { 'src-b': { outbound: 1 } } };
const PER_SOURCE = 5;
const ENGINES = 4;
/** Many sources: first come, first served lets one migration per source compete at a time, so many compete. */
const SOURCES = ['src-a', 'src-b', 'src-c', 'src-d', 'src-e', 'src-f'] as const;
const DESTS = ['dst-1', 'dst-2', 'dst-3', 'dst-4', 'dst-5', 'dst-6'] as const;

/** Wall time shifted to the fixtures' epoch: a migration told to ask again in a tick becomes due a tick later. */
const start = Date.now();
const clock = { now: () => T0 + (Date.now() - start), sleep: async () => undefined };

interface Peaks { cluster: number; outbound: Map<string, number>; inbound: Map<string, number> }

async function sample(store: Store, p: Peaks): Promise<void> {
  const counts = await store.repo.slotCounts();
  p.cluster = Math.max(p.cluster, counts.cluster);
  for (const [h, n] of counts.outbound) p.outbound.set(h, Math.max(p.outbound.get(h) ?? 0, n));
  for (const [h, n] of counts.inbound) p.inbound.set(h, Math.max(p.inbound.get(h) ?? 0, n));
}

/** Answers what the engines sent and ticks what is due, on random engines, until every migration has ended. */
async function drive(store: Store, engines: WorkflowEngine[], sent: Sent[], ids: readonly number[]): Promise<number> {
  const pick = () => engines[Math.floor(Math.random() * engines.length)]!;
  let answered = 0;
  let lookedAtQueue = 0;
  for (let round = 0; round < 2000; round++) {
    const fresh = sent.slice(answered);
    answered = sent.length;
    const due = await store.repo.dueMigrations(clock.now(), 100);
    await Promise.all([...fresh.map(async (s) => { for (const e of answers(s.cmd)) await pick().apply(s.migrationId, e); }),
      ...due.map((id) => pick().apply(id, { type: 'tick' }))]);
    const rows = await Promise.all(ids.map((id) => store.repo.getMigration(id)));
    if (rows.every((m) => m && isTerminal(m.status))) return lookedAtQueue;
    if (fresh.length === 0 && due.length === 0) {
      // What each conductor does every few ticks: wake the queue heads that can go (bounds a wake-up missed in a race).
      lookedAtQueue += 1;
      await wakeQueueNow(store, clock.now(), LIMITS);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error('the migrations did not all end within 2000 rounds');
}

for (const backend of await backends()) {
  describe(`limits under concurrent conductors: ${backend.name}`, { skip: backend.gate.skip, timeout: 120_000 }, () => {
    let db: Database;
    beforeEach(async () => {
      requireService(backend.gate);
      db = await backend.fresh();
      await db.store.repo.upsertFlavor(SMALL);
    });
    afterEach(async () => { await db?.dispose(); });

    it(`${PER_SOURCE * SOURCES.length} migrations from six hosts, ${ENGINES} engines: no limit is ever exceeded and every one completes`, async () => {
      const alive = (name: string) => host(name, { lastHeartbeat: clock.now() + 3_600_000 });
      for (const h of [...SOURCES, ...DESTS]) await db.store.repo.upsertService(alive(h));
      const rows: MigrationRow[] = [];
      for (let i = 0; i < PER_SOURCE; i++) {
        for (const src of SOURCES) {
          const inst = instance(`${src}-${i}`, src);
          await db.store.repo.insertInstance(inst);
          // Half named (each to its own host, so no host lock lines them up), half placed by the scheduler.
          const named = i % 2 === 0 ? DESTS[(rows.length / 2) % DESTS.length]! : null;
          rows.push(await insertMigration(db.store.repo, `lim-${src}-${i}`, inst, alive(src), named));
        }
      }
      const stores: Store[] = [db.store];
      while (stores.length < ENGINES) stores.push(backend.name === 'postgres' ? await db.another() : db.store);
      const sent: Sent[] = [];
      const config = conductorConfig({ limits: LIMITS, tickMs: 50 });
      const engines = stores.map((store, i) => new WorkflowEngine({ store, clock, config,
        dispatch: (migrationId, cmds) => { for (const cmd of cmds) sent.push({ engine: `e${i}`, migrationId, cmd }); } }));
      const peaks: Peaks = { cluster: 0, outbound: new Map(), inbound: new Map() };
      let racing = true;
      const sampler = (async () => { while (racing) await sample(db.store, peaks); })();
      let looks = 0;
      try {
        // PostgreSQL: starts that find the admission lock taken ask again a tick later (retryAt), so the
        // first wave need not fill every slot.
        await Promise.all(rows.map((m, i) => engines[i % ENGINES]!.apply(m.id, { type: 'start' })));
        looks = await drive(db.store, engines, sent, rows.map((m) => m.id));
      } finally {
        racing = false;
        await sampler;
      }
      assert.equal(peaks.cluster, LIMITS.cluster, `the cluster filled up, never more (peak ${peaks.cluster})`);
      for (const [h, n] of peaks.outbound) assert.ok(n <= (h === 'src-b' ? 1 : 2), `${h} sent ${n} at once`);
      for (const [h, n] of peaks.inbound) assert.ok(n <= LIMITS.perHostInbound, `${h} took ${n} at once`);
      const end = await Promise.all(rows.map(async (m) => (await db.store.repo.getMigration(m.id))!));
      assert.deepEqual(new Set(end.map((m) => m.status)), new Set(['completed']), end.map((m) => `${m.id} ${m.status} ${m.error}`).join('\n'));
      assert.deepEqual(await db.store.repo.listClaims(), []);
      console.log(`# ${backend.name}: peaks cluster ${peaks.cluster}, outbound ${JSON.stringify(Object.fromEntries(peaks.outbound))}, ` +
        `inbound ${JSON.stringify(Object.fromEntries(peaks.inbound))}; periodic queue looks needed: ${looks}`);
    });
  });
}

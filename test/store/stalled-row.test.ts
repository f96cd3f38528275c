/**
 * A stalled conductor costs only its own migration's time (PostgreSQL). Another session holds a
 * migration's row, or a destination's service row, the way a conductor frozen mid-transaction would:
 * a real Conductor keeps firing every other migration's deadline within two ticks, including deadlines
 * that fall due while it is stuck, and the held ones go on as soon as the locks are gone. A transaction
 * that freezes with its locks is ended by the server (idle_in_transaction_session_timeout).
 */
import { strict as assert } from 'node:assert';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { conductorConfig } from '../../src/conductor/conductor-config.js';
import { NO_LIMITS } from '../../src/core/admission.js';
import { Conductor } from '../../src/conductor/conductor-service.js';
import type { ComputeHost } from '../../src/core/model.js';
import { InProcessBus } from '../../src/rpc/transports/in-process-transport.js';
import { systemClock } from '../../src/runtime/system-clock.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { BusyReason, StoreBusy, type MigrationRow, type Store } from '../../src/store/store.js';
import { backends, type Database } from './store-backends.js';
import { PG_URL, requireService } from './service-gate.js';
import { host, insertMigration, instance, SMALL } from './store-fixtures.js';

const TICK_MS = 200;
const LOCK_TIMEOUT_MS = 1000;
/** Two ticks, plus room for the transaction itself on a busy machine. */
const TWO_TICKS_MS = 2 * TICK_MS + 300;

const pgBackend = (await backends()).find((b) => b.name === 'postgres')!;

/** When the migration's deadline fired: the time its workflow left `accepted`. */
async function firedAt(store: Store, id: number): Promise<number | undefined> {
  return (await store.repo.getMigration(id))?.state.history.find((h) => h.status !== 'accepted')?.at;
}

describe('stalled conductor: postgres', { skip: pgBackend.gate.skip, timeout: 60_000 }, () => {
  let db: Database;
  let store: Store;
  let conductor: Conductor;
  let holder: pg.Client;
  const logs: string[] = [];
  const up = (name: string): ComputeHost => host(name, { lastHeartbeat: Date.now() + 3_600_000 });
  let seq = 0;

  /** A migration from src to `dest` whose start deadline (a lost start message) falls at `due`. */
  async function due(dest: string, at: number): Promise<MigrationRow> {
    const n = ++seq;
    const inst = instance(`stall-${n}`, 'src');
    await store.repo.insertInstance(inst);
    return insertMigration(store.repo, `stall-mig-${n}`, inst, up('src'), dest, { nextWakeup: at });
  }

  beforeEach(async () => {
    requireService(pgBackend.gate);
    db = await pgBackend.fresh();
    store = await db.another({ lockTimeoutMs: LOCK_TIMEOUT_MS, applicationName: 'baton-test-healthy' });
    for (const h of ['src', 'dst', 'held-dst']) await store.repo.upsertService(up(h));
    await store.repo.upsertFlavor(SMALL);
    // No computes: the fired migrations wait on their checks, which is all this test looks at. No concurrency limits:
    // first come, first served would keep every migration from src behind the held one (test/store/limits-race.test.ts
    // covers the limits on PostgreSQL).
    conductor = new Conductor({ name: 'healthy', store, transport: new InProcessBus().transport(), clock: systemClock,
      config: conductorConfig({ tickMs: TICK_MS, callTimeoutMs: 1000, workflow: { checkTimeoutMs: 3000 }, limits: NO_LIMITS }),
      log: (m) => logs.push(m) });
    await conductor.start();
    holder = new pg.Client({ connectionString: PG_URL, options: `-c search_path="${db.pgSchema}"`, application_name: 'baton-test-frozen' });
    await holder.connect();
  });

  afterEach(async () => {
    await holder?.end().catch(() => undefined);
    await conductor?.stop();
    await db?.dispose();
  });

  it('a held migration row and a held destination row delay only their own migrations', async () => {
    const d1 = Date.now() + 500;
    const heldRow = await due('dst', d1);
    const heldDest = await due('held-dst', d1);
    const wave1 = await Promise.all([1, 2, 3, 4].map(() => due('dst', d1)));
    // The frozen conductor: mid-transaction on one migration's row, and on another's destination while claiming.
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM migrations WHERE id = $1 FOR UPDATE', [heldRow.id]);
    await holder.query('SELECT host FROM services WHERE host = $1 FOR UPDATE', ['held-dst']);

    for (const m of wave1) {
      const at = await waitFor(`migration ${m.id} to fire`, () => firedAt(store, m.id), 5000, 20);
      assert.ok(at - d1 <= TWO_TICKS_MS, `migration ${m.id} fired ${at - d1} ms after its deadline`);
    }
    // Deadlines that fall due while the held ones are stuck fire on time too: no tick waits for them.
    await waitFor('a lock timeout on the held destination', async () => logs.some((l) => l.includes(`migration ${heldDest.id}`) && l.includes(BusyReason.LockTimeout)), 5000, 20);
    const d2 = Date.now() + 300;
    const wave2 = await Promise.all([1, 2, 3].map(() => due('dst', d2)));
    for (const m of wave2) {
      const at = await waitFor(`migration ${m.id} to fire`, () => firedAt(store, m.id), 5000, 20);
      assert.ok(at - d2 <= TWO_TICKS_MS, `migration ${m.id} fired ${at - d2} ms after its deadline, during the stall`);
    }
    assert.equal(await firedAt(store, heldRow.id), undefined, 'the held row waits for its holder');
    assert.equal(await firedAt(store, heldDest.id), undefined, 'so does the migration claiming the held destination');
    assert.ok(!logs.some((l) => l.includes(`migration ${heldRow.id}`)), 'the held row was skipped (SKIP LOCKED), not waited for');

    // An event for the held row (a compute's answer) fails after lock_timeout instead of waiting forever.
    const t0 = Date.now();
    await assert.rejects(conductor.engine.apply(heldRow.id, { type: 'tick' }),
      (e) => e instanceof StoreBusy && e.reason === BusyReason.LockTimeout && !e.retryNow);
    assert.ok(Date.now() - t0 < LOCK_TIMEOUT_MS + 1000, `gave up after ${Date.now() - t0} ms`);

    const released = Date.now();
    await holder.query('ROLLBACK');
    for (const m of [heldRow, heldDest]) {
      const at = await waitFor(`held migration ${m.id} to fire`, () => firedAt(store, m.id), 5000, 20);
      assert.ok(at - released <= TWO_TICKS_MS, `migration ${m.id} fired ${at - released} ms after the locks went`);
    }
  });

  it('a transaction frozen with its locks is ended by the server, and its migration goes on', async () => {
    const frozenIdleMs = 1000;
    const frozen = await db.another({ idleInTransactionTimeoutMs: frozenIdleMs, applicationName: 'baton-test-frozen' });
    const m = await due('dst', Date.now() + 300);
    let thaw!: () => void;
    const thawed = new Promise<void>((r) => { thaw = r; });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => { locked = r; });
    // A conductor stopped between two statements of its transaction, the row lock held.
    const stuck = frozen.transaction(async (tx) => {
      await tx.getMigration(m.id, { forUpdate: true });
      locked();
      await thawed;
      await tx.getMigration(m.id);
    });
    await isLocked;
    const frozeAt = Date.now();
    const at = await waitFor(`migration ${m.id} to fire once the frozen session is ended`, () => firedAt(store, m.id), 10_000, 20);
    assert.ok(at - frozeAt <= frozenIdleMs + LOCK_TIMEOUT_MS + TWO_TICKS_MS, `fired ${at - frozeAt} ms after the freeze`);
    thaw();
    await assert.rejects(stuck, 'the thawed transaction learns that its session is gone');
    await delay(50);
    assert.equal(await frozen.transaction(async (tx) => (await tx.getMigration(m.id))?.id), m.id, 'its store reconnects for the next one');
  });
});

/**
 * The queries behind the concurrency limits (both engines): the cluster-wide lock, the slot counts and
 * the queue heads in index reads, the wake-up of chosen waiting migrations, and a migration's place.
 */
import { sql, type Kysely } from 'kysely';
import { Admission, type Queued, type QueueSnapshot, type SlotCounts } from '../core/admission.js';
import type { Database } from './schema.js';
import type { QueuePlace } from './store.js';

export async function tryLockAdmission(db: Kysely<Database>, rowLocks: boolean): Promise<boolean> {
  let q = db.selectFrom('admission_lock').select('id').where('id', '=', 1);
  if (rowLocks) q = q.forUpdate().skipLocked();
  return (await q.executeTakeFirst()) !== undefined;
}

/**
 * Migrations holding a slot, per source and per destination (the cluster's count is their sum). Each is
 * one pass over its index (admission, host), grouped in index order.
 */
export async function slotCounts(db: Kysely<Database>, exclude?: number): Promise<SlotCounts> {
  let out = db.selectFrom('migrations').select(['source_compute as host', (eb) => eb.fn.countAll<number>().as('n')])
    .where('admission', '=', Admission.ADMITTED);
  let inn = db.selectFrom('migrations').select(['dest_compute as host', (eb) => eb.fn.countAll<number>().as('n')])
    .where('admission', '=', Admission.ADMITTED).where('dest_compute', 'is not', null);
  if (exclude !== undefined) {
    out = out.where('id', '<>', exclude);
    inn = inn.where('id', '<>', exclude);
  }
  // One after the other on the caller's connection (under the admission lock when the caller holds it).
  const outbound = new Map((await out.groupBy('source_compute').execute()).map((r) => [r.host, Number(r.n)]));
  const inbound = new Map((await inn.groupBy('dest_compute').execute()).map((r) => [r.host!, Number(r.n)]));
  return { cluster: [...outbound.values()].reduce((a, n) => a + n, 0), outbound, inbound };
}

/** The oldest waiting migration of each source host (oldest first), and of each named destination. */
export async function queueHeads(db: Kysely<Database>): Promise<Omit<QueueSnapshot, 'counts'>> {
  const heads = await db.selectFrom('migrations as m').select(['m.id', 'm.source_compute', 'm.dest_compute'])
    .where('m.admission', '=', Admission.WAITING)
    .where('m.id', '=', (eb) => eb.selectFrom('migrations as w').select((e) => e.fn.min<number>('w.id').as('first'))
      .where('w.admission', '=', Admission.WAITING).whereRef('w.source_compute', '=', 'm.source_compute'))
    .orderBy('m.id').execute();
  const dests = await db.selectFrom('migrations').select(['dest_compute', (eb) => eb.fn.min<number>('id').as('first')])
    .where('admission', '=', Admission.WAITING).where('dest_compute', 'is not', null).groupBy('dest_compute').execute();
  const queued: Queued[] = heads.map((h) => ({ id: Number(h.id), source: h.source_compute, requestedHost: h.dest_compute }));
  return { heads: queued, destHeads: new Map(dests.map((d) => [d.dest_compute!, Number(d.first)])) };
}

export async function wakeMigrations(db: Kysely<Database>, rowLocks: boolean, ids: readonly number[], now: number): Promise<number[]> {
  if (ids.length === 0) return [];
  let pick = db.selectFrom('migrations').select('id').where('id', 'in', [...ids]).where('admission', '=', Admission.WAITING)
    .where((eb) => eb.or([eb('next_wakeup', 'is', null), eb('next_wakeup', '>', now)]));
  if (rowLocks) pick = pick.forUpdate().skipLocked();
  const woken = await db.updateTable('migrations').set({ next_wakeup: now }).where('id', 'in', pick).returning('id').execute();
  return woken.map((r) => Number(r.id));
}

export async function queuePlace(db: Kysely<Database>, id: number): Promise<QueuePlace | undefined> {
  const m = await db.selectFrom('migrations').select(['source_compute', 'admission']).where('id', '=', id).executeTakeFirst();
  if (!m || m.admission !== Admission.WAITING) return undefined;
  const ahead = await db.selectFrom('migrations').select(sql<number>`count(*)`.as('n')).where('admission', '=', Admission.WAITING)
    .where('source_compute', '=', m.source_compute).where('id', '<', id).executeTakeFirstOrThrow();
  return { position: Number(ahead.n) + 1, host: m.source_compute };
}

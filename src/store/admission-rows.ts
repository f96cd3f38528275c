/**
 * The queries behind the concurrency limits (both engines): the cluster-wide lock, the slot counts and
 * the queue heads in index reads, the wake-up of chosen waiting migrations, and a migration's place.
 */
import { sql, type Kysely } from 'kysely';
import { Admission, type Queued, type QueueSnapshot } from '../core/admission.js';
import type { Database } from './schema.js';
import type { QueuePlace } from './store.js';

export async function tryLockAdmission(db: Kysely<Database>, rowLocks: boolean): Promise<boolean> {
  let q = db.selectFrom('admission_lock').select('id').where('id', '=', 1);
  if (rowLocks) q = q.forUpdate().skipLocked();
  return (await q.executeTakeFirst()) !== undefined;
}

export async function queueSnapshot(db: Kysely<Database>, exclude?: number): Promise<QueueSnapshot> {
  let held = db.selectFrom('migrations').select(['source_compute', 'dest_compute', (eb) => eb.fn.countAll<number>().as('n')])
    .where('admission', '=', Admission.ADMITTED);
  if (exclude !== undefined) held = held.where('id', '<>', exclude);
  // One after the other on the transaction's connection (under the admission lock when the caller holds it).
  const slots = await held.groupBy(['source_compute', 'dest_compute']).execute();
  // The oldest waiting migration of each source host.
  const heads = await db.selectFrom('migrations as m').select(['m.id', 'm.source_compute', 'm.dest_compute'])
      .where('m.admission', '=', Admission.WAITING)
      .where('m.id', '=', (eb) => eb.selectFrom('migrations as w').select((e) => e.fn.min<number>('w.id').as('first'))
        .where('w.admission', '=', Admission.WAITING).whereRef('w.source_compute', '=', 'm.source_compute'))
      .orderBy('m.id').execute();
  const dests = await db.selectFrom('migrations').select(['dest_compute', (eb) => eb.fn.min<number>('id').as('first')])
    .where('admission', '=', Admission.WAITING).where('dest_compute', 'is not', null).groupBy('dest_compute').execute();
  const outbound = new Map<string, number>();
  const inbound = new Map<string, number>();
  let cluster = 0;
  for (const r of slots) {
    const n = Number(r.n);
    cluster += n;
    outbound.set(r.source_compute, (outbound.get(r.source_compute) ?? 0) + n);
    if (r.dest_compute !== null) inbound.set(r.dest_compute, (inbound.get(r.dest_compute) ?? 0) + n);
  }
  const queued: Queued[] = heads.map((h) => ({ id: Number(h.id), source: h.source_compute, requestedHost: h.dest_compute }));
  return { counts: { cluster, outbound, inbound }, heads: queued,
    destHeads: new Map(dests.map((d) => [d.dest_compute!, Number(d.first)])) };
}

export async function wakeMigrations(db: Kysely<Database>, rowLocks: boolean, ids: readonly number[], now: number): Promise<number> {
  if (ids.length === 0) return 0;
  let pick = db.selectFrom('migrations').select('id').where('id', 'in', [...ids]).where('admission', '=', Admission.WAITING)
    .where((eb) => eb.or([eb('next_wakeup', 'is', null), eb('next_wakeup', '>', now)]));
  if (rowLocks) pick = pick.forUpdate().skipLocked();
  const r = await db.updateTable('migrations').set({ next_wakeup: now }).where('id', 'in', pick).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function queuePlace(db: Kysely<Database>, id: number): Promise<QueuePlace | undefined> {
  const m = await db.selectFrom('migrations').select(['source_compute', 'admission']).where('id', '=', id).executeTakeFirst();
  if (!m || m.admission !== Admission.WAITING) return undefined;
  const ahead = await db.selectFrom('migrations').select(sql<number>`count(*)`.as('n')).where('admission', '=', Admission.WAITING)
    .where('source_compute', '=', m.source_compute).where('id', '<', id).executeTakeFirstOrThrow();
  return { position: Number(ahead.n) + 1, host: m.source_compute };
}

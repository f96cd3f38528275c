/** The drains table over Kysely (both engines): one drain per host, its state as JSON, a version and a wake-up time. */
import type { Kysely, Selectable } from 'kysely';
import { DRAIN_ENDS, type DrainState, type DrainStatus } from '../core/drain.js';
import type { Database } from './schema.js';
import { DrainConflict, type DrainRow } from './store.js';

function toDrain(r: Selectable<Database['drains']>): DrainRow {
  return { host: r.host, status: r.status as DrainStatus, state: JSON.parse(r.state) as DrainState, version: r.version,
    nextWakeup: r.next_wakeup === null ? null : Number(r.next_wakeup), createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) };
}

export async function getDrain(db: Kysely<Database>, rowLocks: boolean, host: string, lock: boolean): Promise<DrainRow | undefined> {
  let q = db.selectFrom('drains').selectAll().where('host', '=', host);
  if (lock && rowLocks) q = q.forUpdate();
  const r = await q.executeTakeFirst();
  return r && toDrain(r);
}

export async function putDrain(db: Kysely<Database>, d: Omit<DrainRow, 'version'>): Promise<DrainRow> {
  const row = { status: d.status, state: JSON.stringify(d.state), version: 1, next_wakeup: d.nextWakeup, created_at: d.createdAt,
    updated_at: d.updatedAt };
  await db.insertInto('drains').values({ host: d.host, ...row }).onConflict((oc) => oc.column('host').doUpdateSet(row)).execute();
  return { ...d, version: 1 };
}

export async function saveDrain(db: Kysely<Database>, host: string, expected: number,
  d: Pick<DrainRow, 'status' | 'state' | 'nextWakeup' | 'updatedAt'>): Promise<void> {
  const r = await db.updateTable('drains').set({ status: d.status, state: JSON.stringify(d.state), next_wakeup: d.nextWakeup,
    updated_at: d.updatedAt, version: expected + 1 }).where('host', '=', host).where('version', '=', expected).executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new DrainConflict(host);
}

export async function listDrains(db: Kysely<Database>): Promise<DrainRow[]> {
  return (await db.selectFrom('drains').selectAll().orderBy('host').execute()).map(toDrain);
}

export async function dueDrains(db: Kysely<Database>, rowLocks: boolean, now: number, limit: number, exclude: readonly string[]): Promise<string[]> {
  let q = db.selectFrom('drains').select('host').where('next_wakeup', '<=', now);
  if (exclude.length > 0) q = q.where('host', 'not in', [...exclude]);
  q = q.orderBy('next_wakeup').orderBy('host').limit(limit);
  // Held only for this statement: it skips a drain another conductor is running right now.
  if (rowLocks) q = q.forUpdate().skipLocked();
  return (await q.execute()).map((r) => r.host);
}

export async function wakeDrain(db: Kysely<Database>, rowLocks: boolean, host: string, now: number): Promise<void> {
  let pick = db.selectFrom('drains').select('host').where('host', '=', host).where('status', 'not in', [...DRAIN_ENDS])
    .where((eb) => eb.or([eb('next_wakeup', 'is', null), eb('next_wakeup', '>', now)]));
  if (rowLocks) pick = pick.forUpdate().skipLocked();
  await db.updateTable('drains').set({ next_wakeup: now }).where('host', 'in', pick).execute();
}

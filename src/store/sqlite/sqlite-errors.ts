/** What better-sqlite3's errors mean to the store (SqliteError carries an extended result `code`). */
import type { DbFailure } from '../kysely-repo.js';
import { BusyReason } from '../store.js';

export function classifySqliteError(e: unknown): DbFailure {
  if (!(e instanceof Error) || !('code' in e) || typeof e.code !== 'string') return null;
  // SQLite names the columns, not the index; instance_uuid is unique only in the partial index of active migrations.
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' && e.message.includes('migrations.instance_uuid')) return { kind: 'active-migration' };
  if (e.code === 'SQLITE_BUSY' || e.code.startsWith('SQLITE_BUSY_')) return { kind: 'busy', reason: BusyReason.Busy };
  return null;
}

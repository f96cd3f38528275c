/** What PostgreSQL's SQLSTATE codes mean to the store (pg's DatabaseError carries `code` and `constraint`). */
import { ACTIVE_MIGRATION_INDEX } from '../active-migration-index.js';
import type { DbFailure } from '../kysely-repo.js';
import { BusyReason } from '../store.js';

const BUSY: Readonly<Record<string, BusyReason>> = {
  '55P03': BusyReason.LockTimeout, // lock_not_available: lock_timeout (or NOWAIT)
  '57014': BusyReason.StatementTimeout, // query_canceled: statement_timeout
  '40P01': BusyReason.Deadlock, // deadlock_detected
  '40001': BusyReason.Deadlock, // serialization_failure
};

export function classifyPostgresError(e: unknown): DbFailure {
  if (typeof e !== 'object' || e === null) return null;
  const { code, constraint } = e as { code?: unknown; constraint?: unknown };
  if (typeof code !== 'string') return null;
  if (code === '23505' && constraint === ACTIVE_MIGRATION_INDEX) return { kind: 'active-migration' };
  const reason = BUSY[code];
  return reason ? { kind: 'busy', reason } : null;
}

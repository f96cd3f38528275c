/**
 * Schema migration 0003: at most one migration per instance in a non-terminal status, enforced by the
 * database on both engines with a partial unique index. The API's task_state check stays the friendly
 * first answer; the index is what holds when requests race (several API processes, READ COMMITTED).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { TERMINAL_STATUSES } from '../core/migration-status.js';

export const ACTIVE_MIGRATION_INDEX = 'migrations_one_active_per_instance';

const terminalList = sql.join(TERMINAL_STATUSES.map((s) => sql.lit(s)));

export const oneActiveMigrationPerInstance: Migration = {
  async up(db: Kysely<unknown>) {
    // A database written before this index may already hold several live migrations of one instance;
    // the index cannot be built over them, so say which ones instead of failing on the DDL.
    const dup = await sql<{ instance_uuid: string; ids: string }>`
      SELECT instance_uuid, string_agg(CAST(id AS TEXT), ',') AS ids FROM migrations
      WHERE status NOT IN (${terminalList}) GROUP BY instance_uuid HAVING count(*) > 1`.execute(db);
    if (dup.rows.length > 0) {
      const list = dup.rows.map((r) => `instance ${r.instance_uuid}: migrations ${r.ids}`).join('; ');
      throw new Error(`several migrations of one instance are still in progress (${list}); `
        + 'let them end (or abort them) with the running version before upgrading');
    }
    await sql`CREATE UNIQUE INDEX ${sql.id(ACTIVE_MIGRATION_INDEX)} ON migrations (instance_uuid)
      WHERE status NOT IN (${terminalList})`.execute(db);
  },
};


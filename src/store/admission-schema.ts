/**
 * Schema migration 0004: what the concurrency limits and the server-side drain keep. Each migration row
 * says whether it waits for a slot or holds one (indexed, so the counts and the queue heads are index
 * reads); one row to lock cluster-wide; and the drains, one per host.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { TERMINAL_STATUSES } from '../core/migration-status.js';
import type { Engine } from './schema-migrations.js';

export function admissionAndDrains(engine: Engine): Migration {
  const ms = engine === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('migrations').addColumn('admission', 'text').execute();
      // Migrations in flight at the upgrade hold their slots; one not started yet waits like a new one.
      await sql`UPDATE migrations SET admission = CASE WHEN status = 'accepted' THEN 'waiting' ELSE 'admitted' END
        WHERE status NOT IN (${sql.join(TERMINAL_STATUSES.map((s) => sql.lit(s)))})`.execute(db);
      await db.schema.createIndex('migrations_admission_source').on('migrations').columns(['admission', 'source_compute', 'id']).execute();
      await db.schema.createIndex('migrations_admission_dest').on('migrations').columns(['admission', 'dest_compute', 'id']).execute();
      await db.schema.createTable('admission_lock').addColumn('id', 'integer', (c) => c.primaryKey()).execute();
      await sql`INSERT INTO admission_lock (id) VALUES (1)`.execute(db);
      await db.schema.createTable('drains')
        .addColumn('host', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('next_wakeup', sql.raw(ms))
        .addColumn('created_at', sql.raw(ms), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(ms), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('drains_wakeup').on('drains').column('next_wakeup').execute();
    },
  };
}

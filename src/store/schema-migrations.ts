/** Schema migrations, applied in order by Kysely's Migrator on both engines. */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { oneActiveMigrationPerInstance } from './active-migration-index.js';
import { admissionAndDrains } from './admission-schema.js';

export type Engine = 'sqlite' | 'postgres';

function initial(engine: Engine): Migration {
  // Millisecond timestamps overflow a 32-bit integer: bigint on PostgreSQL (SQLite integers are 64-bit).
  const ms = engine === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('services')
        .addColumn('host', 'text', (c) => c.primaryKey())
        .addColumn('hypervisor_id', 'text', (c) => c.notNull().unique())
        .addColumn('hypervisor_type', 'text', (c) => c.notNull())
        .addColumn('hypervisor_version', 'integer', (c) => c.notNull())
        .addColumn('cpu_model', 'text', (c) => c.notNull())
        .addColumn('cpu_features', 'text', (c) => c.notNull())
        .addColumn('vcpus', 'integer', (c) => c.notNull())
        .addColumn('memory_mb', 'integer', (c) => c.notNull())
        .addColumn('disk_gb', 'integer', (c) => c.notNull())
        .addColumn('cpu_ratio', 'real', (c) => c.notNull())
        .addColumn('ram_ratio', 'real', (c) => c.notNull())
        .addColumn('disk_ratio', 'real', (c) => c.notNull())
        .addColumn('rpc_version', 'text', (c) => c.notNull())
        .addColumn('host_ip', 'text', (c) => c.notNull())
        .addColumn('last_heartbeat', sql.raw(ms), (c) => c.notNull())
        .addColumn('started_at', sql.raw(ms), (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('disabled_reason', 'text')
        .execute();
      await db.schema.createTable('flavors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('vcpus', 'integer', (c) => c.notNull())
        .addColumn('memory_mb', 'integer', (c) => c.notNull())
        .addColumn('disk_gb', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createTable('instances')
        .addColumn('uuid', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('host', 'text')
        .addColumn('vm_state', 'text', (c) => c.notNull())
        .addColumn('task_state', 'text')
        .addColumn('power_state', 'integer', (c) => c.notNull())
        .addColumn('flavor_id', 'text', (c) => c.notNull())
        .addColumn('image_ref', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(ms), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(ms), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('instances_host').on('instances').column('host').execute();
      await db.schema.createTable('migrations')
        .addColumn('id', engine === 'postgres' ? 'serial' : 'integer', (c) => engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement())
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('instance_uuid', 'text', (c) => c.notNull())
        .addColumn('source_compute', 'text', (c) => c.notNull())
        .addColumn('dest_compute', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('migration_type', 'text', (c) => c.notNull())
        .addColumn('memory_total', sql.raw(ms), (c) => c.notNull().defaultTo(0))
        .addColumn('memory_processed', sql.raw(ms), (c) => c.notNull().defaultTo(0))
        .addColumn('memory_remaining', sql.raw(ms), (c) => c.notNull().defaultTo(0))
        .addColumn('disk_total', sql.raw(ms), (c) => c.notNull().defaultTo(0))
        .addColumn('disk_processed', sql.raw(ms), (c) => c.notNull().defaultTo(0))
        .addColumn('disk_remaining', sql.raw(ms), (c) => c.notNull().defaultTo(0))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('next_wakeup', sql.raw(ms))
        .addColumn('error', 'text')
        .addColumn('flavor_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(ms), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(ms), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('migrations_wakeup').on('migrations').column('next_wakeup').execute();
      await db.schema.createIndex('migrations_instance').on('migrations').column('instance_uuid').execute();
      await db.schema.createIndex('migrations_status').on('migrations').column('status').execute();
      await db.schema.createTable('migration_steps')
        .addColumn('migration_id', 'integer', (c) => c.notNull())
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('sent_at', sql.raw(ms), (c) => c.notNull())
        .addColumn('acked_at', sql.raw(ms))
        .addColumn('done_at', sql.raw(ms))
        .addColumn('failed_at', sql.raw(ms))
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('migration_steps_pk', ['migration_id', 'step', 'attempt'])
        .execute();
      await db.schema.createTable('claims')
        .addColumn('migration_id', 'integer', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('instance_uuid', 'text', (c) => c.notNull())
        .addColumn('vcpus', 'integer', (c) => c.notNull())
        .addColumn('memory_mb', 'integer', (c) => c.notNull())
        .addColumn('disk_gb', 'integer', (c) => c.notNull())
        .addColumn('created_at', sql.raw(ms), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('claims_host').on('claims').column('host').execute();
    },
  };
}

/** The reconciler's findings: the latest pass with its anomalies, and the history of repairs. */
function audit(engine: Engine): Migration {
  const ms = engine === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('audit_passes')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('checked_at', sql.raw(ms), (c) => c.notNull())
        .addColumn('conductor', 'text', (c) => c.notNull())
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('hosts_checked', 'text', (c) => c.notNull())
        .addColumn('unreachable', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('audit_anomalies')
        .addColumn('seq', 'integer', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('instance_uuid', 'text')
        .addColumn('migration_id', 'integer')
        .addColumn('hosts', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('audit_repairs')
        .addColumn('id', engine === 'postgres' ? 'serial' : 'integer', (c) => engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement())
        .addColumn('at', sql.raw(ms), (c) => c.notNull())
        .addColumn('conductor', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('instance_uuid', 'text')
        .addColumn('migration_id', 'integer')
        .addColumn('host', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_repairs_at').on('audit_repairs').column('at').execute();
    },
  };
}

class InCodeProvider implements MigrationProvider {
  readonly #engine: Engine;
  constructor(engine: Engine) {
    this.#engine = engine;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '0001_initial': initial(this.#engine),
      '0002_audit': audit(this.#engine),
      '0003_one_active_migration': oneActiveMigrationPerInstance,
      '0004_admission_and_drains': admissionAndDrains(this.#engine),
    };
  }
}

/** The names of every schema migration this release applies, in order. */
export async function schemaMigrationNames(engine: Engine): Promise<string[]> {
  return Object.keys(await new InCodeProvider(engine).getMigrations()).sort();
}

/**
 * Brings the schema up to date; throws naming the migration that failed. On PostgreSQL, `schema` is
 * where the bookkeeping tables live, with Baton's own: Kysely would otherwise find another deployment's
 * bookkeeping in another schema of the same database and never create its own.
 */
export async function migrateToLatest(db: Kysely<unknown>, engine: Engine, schema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider: new InCodeProvider(engine), migrationTableName: 'baton_schema_migrations',
    migrationLockTableName: 'baton_schema_lock', ...(schema !== undefined ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`schema migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

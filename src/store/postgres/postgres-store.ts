/**
 * PostgreSQL engine: the store when one machine is outgrown and several conductors share the work.
 * Row locks (SELECT ... FOR UPDATE) serialize the writers of one migration; the version check stays.
 */
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { maskUrl } from '../../config/url-mask.js';
import { KyselyStore } from '../kysely-store.js';
import type { Database as Schema } from '../schema.js';
import { migrateToLatest } from '../schema-migrations.js';
import type { Store } from '../store.js';

export interface PostgresStoreOptions {
  /** postgres://user:pass@host:port/db */
  readonly url: string;
  /** Schema the tables live in (created when missing); the server's search_path default when absent. */
  readonly schema?: string;
  /** Pool size per process. Default 10. */
  readonly maxConnections?: number;
  /** How long opening a connection may take. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
}

const INT8_OID = 20;
/** Serializes schema migrations of processes that start at once (same key for every Baton). */
const MIGRATION_LOCK_KEY = 0x6261746f; // "bato"

// Millisecond timestamps are bigint columns; they fit a double exactly until the year 287396.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export async function createPostgresStore(o: PostgresStoreOptions): Promise<Store> {
  const masked = maskUrl(o.url);
  if (o.schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(o.schema)) {
    throw new Error(`invalid PostgreSQL schema name "${o.schema}" for ${masked}`);
  }
  const pool = new pg.Pool({
    connectionString: o.url, max: o.maxConnections ?? 10, connectionTimeoutMillis: o.connectTimeoutMs ?? 5000, types,
    ...(o.schema !== undefined ? { options: `-c search_path=${o.schema}` } : {}),
  });
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await prepare(pool, o.schema);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new Error(`cannot use PostgreSQL at ${masked}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyStore(db, 'postgres', { rowLocks: true });
}

/** Creates the schema and migrates it under an advisory lock, so processes that start together do not collide. */
async function prepare(pool: pg.Pool, schema: string | undefined): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const single = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: singleClientPool(client) }) });
      await migrateToLatest(single, 'postgres');
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

/** A "pool" of the one client that holds the advisory lock, so the migration runs inside it. */
function singleClientPool(client: pg.PoolClient) {
  const held = { query: client.query.bind(client), release: () => undefined };
  return { connect: async () => held, end: async () => undefined };
}

/** Drops a schema and everything in it (tests use one schema per run). */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '')}" CASCADE`);
  } finally {
    await client.end();
  }
}

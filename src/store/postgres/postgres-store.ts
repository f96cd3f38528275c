/**
 * PostgreSQL engine: the store when one machine is outgrown and several conductors share the work.
 * Row locks (SELECT ... FOR UPDATE) serialize the writers of one migration; the version check stays.
 * Every pooled connection carries lock and statement timeouts and TCP keepalives, so a session that
 * stalls (a frozen or vanished process) costs its own work, not everybody's.
 */
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { maskUrl } from '../../config/url-mask.js';
import { KyselyStore } from '../kysely-store.js';
import type { Database as Schema } from '../schema.js';
import { migrateToLatest } from '../schema-migrations.js';
import type { Store } from '../store.js';
import { classifyPostgresError } from './postgres-errors.js';

export interface PostgresStoreOptions {
  /** postgres://user:pass@host:port/db */
  readonly url: string;
  /** Schema the tables live in (created when missing); the server's search_path default when absent. */
  readonly schema?: string;
  /** Pool size per process. Default 10. */
  readonly maxConnections?: number;
  /** How long opening a connection may take. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** lock_timeout: how long a statement waits for a row or table lock before it fails. Default 5000 ms; 0 waits forever. */
  readonly lockTimeoutMs?: number;
  /** statement_timeout: the longest any statement may run, lock waits included. Default 30000 ms; 0 for none. */
  readonly statementTimeoutMs?: number;
  /**
   * idle_in_transaction_session_timeout: the server ends a session that keeps a transaction open without
   * sending anything (a process frozen mid-transaction) and so releases its locks. Default 30000 ms; 0 never.
   */
  readonly idleInTransactionTimeoutMs?: number;
  /** TCP keepalives on both ends of every connection, so a vanished peer is noticed. Default true. */
  readonly keepAlive?: boolean;
  /** Idle time before the first keepalive probe. Default 10000 ms. */
  readonly keepAliveIdleMs?: number;
  /** application_name, as pg_stat_activity shows it. Default "baton". */
  readonly applicationName?: string;
}

export const POSTGRES_DEFAULTS = {
  maxConnections: 10, connectTimeoutMs: 5000, lockTimeoutMs: 5000, statementTimeoutMs: 30_000, idleInTransactionTimeoutMs: 30_000,
  keepAlive: true, keepAliveIdleMs: 10_000, applicationName: 'baton',
} as const;

const INT8_OID = 20;
/** First key of the advisory lock that serializes schema migrations; the second is the schema's hash. */
const MIGRATION_LOCK_CLASS = 0x6261746f; // "bato"

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
  const pool = new pg.Pool(postgresPoolConfig(o));
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor may a checked-out one (the server ended a stalled transaction's session): its pending query
  // fails, the pool drops it on release, and the caller sees the error.
  pool.on('connect', (client) => { client.on('error', () => undefined); });
  try {
    await prepare(pool, o.schema);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new Error(`cannot use PostgreSQL at ${masked}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyStore(db, 'postgres', { rowLocks: true, classify: classifyPostgresError });
}

/** Session settings go in the startup packet, so every connection the pool opens (and reopens) has them. */
export function postgresPoolConfig(o: PostgresStoreOptions): pg.PoolConfig {
  const d = POSTGRES_DEFAULTS;
  const keepAlive = o.keepAlive ?? d.keepAlive;
  const idleSec = Math.max(1, Math.round((o.keepAliveIdleMs ?? d.keepAliveIdleMs) / 1000));
  // The server probes too: a conductor host that vanishes mid-transaction loses its session, and its locks.
  const serverKeepAlive = keepAlive ? [`tcp_keepalives_idle=${idleSec}`, `tcp_keepalives_interval=${Math.max(1, Math.round(idleSec / 2))}`,
    'tcp_keepalives_count=3'] : [];
  const settings = [
    ...(o.schema !== undefined ? [`search_path="${o.schema}"`] : []),
    // In the options rather than pg's own fields, which leave a 0 unsent: here 0 means off, whatever the server's default.
    `lock_timeout=${o.lockTimeoutMs ?? d.lockTimeoutMs}`,
    `statement_timeout=${o.statementTimeoutMs ?? d.statementTimeoutMs}`,
    `idle_in_transaction_session_timeout=${o.idleInTransactionTimeoutMs ?? d.idleInTransactionTimeoutMs}`,
    ...serverKeepAlive,
  ];
  return {
    connectionString: o.url, max: o.maxConnections ?? d.maxConnections, connectionTimeoutMillis: o.connectTimeoutMs ?? d.connectTimeoutMs, types,
    keepAlive, keepAliveInitialDelayMillis: idleSec * 1000,
    application_name: o.applicationName ?? d.applicationName,
    options: settings.map((s) => `-c ${s}`).join(' '),
  };
}

/**
 * Creates the schema and migrates it under an advisory lock keyed by the schema, so processes of one
 * deployment that start together do not collide, and deployments in other schemas do not wait on it.
 */
async function prepare(pool: pg.Pool, schema: string | undefined): Promise<void> {
  const client = await pool.connect();
  try {
    // Start-up waits for another process's migration instead of failing after lock_timeout;
    // statement_timeout still bounds every wait.
    await client.query('SET lock_timeout = 0');
    const target = schema ?? (await client.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s;
    if (!target) throw new Error('the search_path names no existing schema: set database.schema');
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, target]);
    try {
      if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const single = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: singleClientPool(client) }) });
      await migrateToLatest(single, 'postgres', target);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, target]);
    }
  } finally {
    // Not back into the pool: this session's lock_timeout was changed.
    client.release(true);
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

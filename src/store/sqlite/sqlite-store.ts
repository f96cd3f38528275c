/** SQLite engine (better-sqlite3): the embedded default. A file under the data dir, or ":memory:". */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyStore } from '../kysely-store.js';
import type { Database as Schema } from '../schema.js';
import { migrateToLatest } from '../schema-migrations.js';
import { classifySqliteError } from './sqlite-errors.js';
import { withStatementCache } from './statement-cache.js';
import type { Store } from '../store.js';

export async function createSqliteStore(path: string): Promise<Store> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let sqlite: Database.Database;
  try {
    sqlite = new Database(path);
  } catch (e) {
    throw new Error(`cannot open SQLite database at ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  // WAL keeps readers off the writer's back; NORMAL syncs at checkpoints, durable across process crashes.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  return new KyselyStore(db, 'sqlite', { rowLocks: false, immediateWrites: true, classify: classifySqliteError });
}

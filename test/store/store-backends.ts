/** The engines every store contract runs against: SQLite (a temporary file) and PostgreSQL (a schema per run). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresStore, dropPostgresSchema, type PostgresStoreOptions } from '../../src/store/postgres/postgres-store.js';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { gate, PG_URL, type Gate } from './service-gate.js';

export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  /** Set when the engine's service is missing (see service-gate.ts). */
  readonly gate: Gate;
  /** Opens a fresh, empty database for one test group. */
  fresh(): Promise<Database>;
}

export interface Database {
  readonly store: Store;
  /**
   * Another independent handle (own connections) on the same database, as a second process would have;
   * PostgreSQL takes the session settings of `tuning`.
   */
  another(tuning?: PgTuning): Promise<Store>;
  /** SQLite: the database file, for handles opened in other threads or processes. */
  readonly sqlitePath?: string;
  /** PostgreSQL: the schema this database lives in. */
  readonly pgSchema?: string;
  dispose(): Promise<void>;
}

export type PgTuning = Omit<PostgresStoreOptions, 'url' | 'schema'>;

let seq = 0;

const sqlite: Backend = {
  name: 'sqlite',
  gate: { problem: null, skip: false },
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'baton-store-'));
    const path = join(dir, 'baton.sqlite');
    const opened: Store[] = [await createSqliteStore(path)];
    return {
      store: opened[0]!,
      sqlitePath: path,
      async another() { const s = await createSqliteStore(path); opened.push(s); return s; },
      async dispose() { for (const s of opened) await s.close(); rmSync(dir, { recursive: true, force: true }); },
    };
  },
};

function postgres(g: Gate): Backend {
  return {
    name: 'postgres',
    gate: g,
    async fresh() {
      const schema = `baton_test_${process.pid}_${Date.now().toString(36)}_${++seq}`;
      let first: Store;
      try {
        first = await createPostgresStore({ url: PG_URL, schema, maxConnections: 4 });
      } catch (e) {
        await dropPostgresSchema(PG_URL, schema).catch(() => undefined); // it may exist, half migrated
        throw e;
      }
      const opened: Store[] = [first];
      return {
        store: opened[0]!,
        pgSchema: schema,
        async another(tuning: PgTuning = {}) {
          const s = await createPostgresStore({ url: PG_URL, schema, maxConnections: 4, ...tuning });
          opened.push(s);
          return s;
        },
        async dispose() {
          for (const s of opened) await s.close();
          await dropPostgresSchema(PG_URL, schema);
        },
      };
    },
  };
}

export async function backends(): Promise<Backend[]> {
  return [sqlite, postgres(await gate('PostgreSQL', PG_URL, 5432))];
}

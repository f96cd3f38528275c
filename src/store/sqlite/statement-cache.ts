/**
 * Kysely's SQLite driver prepares every query anew; preparing costs more than running for the small
 * statements the conductor issues. This wrapper keeps prepared statements by SQL text. It implements
 * only the structural subset Kysely's SqliteDialect uses (prepare, close).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

export function withStatementCache(db: BetterSqlite3.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => { cache.clear(); db.close(); },
    prepare(sql: string): SqliteStatement {
      let stmt = cache.get(sql);
      if (!stmt) {
        // Queries with IN lists vary in text; evict the oldest rather than grow without bound.
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        stmt = db.prepare(sql);
        cache.set(sql, stmt);
      }
      return stmt as unknown as SqliteStatement;
    },
  };
}

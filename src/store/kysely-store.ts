/** A Store over any Kysely dialect; the engine folders only build the dialect and name the capabilities. */
import { sql, type Kysely } from 'kysely';
import { KyselyRepo, type Capabilities } from './kysely-repo.js';
import type { Database } from './schema.js';
import { StoreBusy, type Repo, type Store } from './store.js';

export class KyselyStore implements Store {
  readonly engine: 'sqlite' | 'postgres';
  readonly repo: Repo;
  readonly #db: Kysely<Database>;
  readonly #caps: Capabilities;

  constructor(db: Kysely<Database>, engine: 'sqlite' | 'postgres', caps: Capabilities) {
    this.#db = db;
    this.engine = engine;
    this.#caps = caps;
    this.repo = new KyselyRepo(db, caps);
  }

  async transaction<T>(fn: (tx: Repo) => Promise<T>): Promise<T> {
    try {
      return await this.#run(fn);
    } catch (e) {
      const f = this.#caps.classify(e);
      if (f?.kind !== 'busy') throw e;
      throw new StoreBusy(f.reason, `${this.engine} gave up waiting (${f.reason}): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  #run<T>(fn: (tx: Repo) => Promise<T>): Promise<T> {
    if (!this.#caps.immediateWrites) return this.#db.transaction().execute((trx) => fn(new KyselyRepo(trx, this.#caps)));
    // SQLite: take the write lock at BEGIN, so a second process waits (busy_timeout) instead of failing mid-transaction,
    // and nothing read inside can change before the commit: a read-then-write (a capacity check, then a claim) is atomic.
    return this.#db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(new KyselyRepo(conn, this.#caps));
        await sql`commit`.execute(conn);
        return result;
      } catch (e) {
        await sql`rollback`.execute(conn);
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }
}

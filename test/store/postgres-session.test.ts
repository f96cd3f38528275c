/** The session settings every pooled PostgreSQL connection carries, as the server reports them. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import pg from 'pg';
import { postgresPoolConfig, type PostgresStoreOptions } from '../../src/store/postgres/postgres-store.js';
import { gate, PG_URL, requireService } from './service-gate.js';

const pgGate = await gate('PostgreSQL', PG_URL, 5432);

async function settings(o: PostgresStoreOptions): Promise<Record<string, string>> {
  const c = new pg.Client(postgresPoolConfig(o));
  await c.connect();
  try {
    const names = ['lock_timeout', 'statement_timeout', 'idle_in_transaction_session_timeout', 'tcp_keepalives_idle', 'tcp_keepalives_interval',
      'application_name', 'search_path'];
    const rows = (await c.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1)', [names])).rows;
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  } finally {
    await c.end();
  }
}

describe('PostgreSQL session settings', { skip: pgGate.skip }, () => {
  it('defaults: 5 s lock timeout, 30 s statement and idle-in-transaction timeouts, keepalives after 10 s', async () => {
    requireService(pgGate);
    const s = await settings({ url: PG_URL, schema: 'Some_Schema' });
    assert.deepEqual(s, { lock_timeout: '5000', statement_timeout: '30000', idle_in_transaction_session_timeout: '30000',
      tcp_keepalives_idle: '10', tcp_keepalives_interval: '5', application_name: 'baton', search_path: '"Some_Schema"' });
  });

  it('takes the configured values, 0 turning a timeout off whatever the server default', async () => {
    requireService(pgGate);
    const s = await settings({ url: PG_URL, lockTimeoutMs: 1234, statementTimeoutMs: 0, idleInTransactionTimeoutMs: 0, keepAliveIdleMs: 4000,
      applicationName: 'baton-conductor c1' });
    assert.equal(s['lock_timeout'], '1234');
    assert.equal(s['statement_timeout'], '0');
    assert.equal(s['idle_in_transaction_session_timeout'], '0');
    assert.equal(s['tcp_keepalives_idle'], '4');
    assert.equal(s['application_name'], 'baton-conductor c1');
  });

  it('keepAlive off leaves the server keepalives at the server default', async () => {
    requireService(pgGate);
    const s = await settings({ url: PG_URL, keepAlive: false });
    const server = await settings({ url: PG_URL, keepAlive: false, keepAliveIdleMs: 99_000 });
    assert.equal(s['tcp_keepalives_idle'], server['tcp_keepalives_idle']);
    assert.equal(postgresPoolConfig({ url: PG_URL, keepAlive: false }).keepAlive, false);
  });
});

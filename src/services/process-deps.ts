/**
 * The adapters every separate process opens from its config: the store and the transport. Each fails
 * at start-up with a message naming the service and its URL (password masked).
 */
import type { BatonConfig } from '../config/config-schema.js';
import { parseDatabaseUrl, parseTransportUrl } from '../config/service-urls.js';
import { maskUrl } from '../config/url-mask.js';
import type { LogFn } from '../runtime/logger.js';
import type { Transport } from '../rpc/transport.js';
import { createAmqpTransport } from '../rpc/transports/amqp/amqp-transport.js';
import { FaultTransport } from '../rpc/transports/fault-transport.js';
import { createPostgresStore } from '../store/postgres/postgres-store.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';

/** `applicationName` names this process's sessions in PostgreSQL's pg_stat_activity. */
export async function openStore(c: BatonConfig['database'], applicationName?: string): Promise<Store> {
  const target = parseDatabaseUrl(c.url);
  if (typeof target === 'string') throw new Error(target);
  if (target.engine === 'sqlite') return createSqliteStore(target.path);
  return createPostgresStore({ url: target.url, maxConnections: c.maxConnections, lockTimeoutMs: c.lockTimeoutMs,
    statementTimeoutMs: c.statementTimeoutMs, idleInTransactionTimeoutMs: c.idleInTransactionTimeoutMs, keepAlive: c.keepAlive,
    keepAliveIdleMs: c.keepAliveIdleMs, ...(c.schema !== undefined ? { schema: c.schema } : {}),
    ...(applicationName !== undefined ? { applicationName } : {}) });
}

/** Separate processes need a broker: memory:// only joins the roles of one process (`baton up`). */
export async function openTransport(c: BatonConfig['transport'], log: LogFn): Promise<Transport> {
  const target = parseTransportUrl(c.url);
  if (typeof target === 'string') throw new Error(target);
  if (target.kind === 'memory') {
    throw new Error(`transport URL ${c.url} connects only the roles inside one process (baton up); separate processes need amqp://`);
  }
  try {
    const amqp = await createAmqpTransport({ url: target.url, exchange: c.exchange, prefetch: c.prefetch, heartbeatSec: c.heartbeatSec,
      log: (level, msg, fields) => log(`[amqp ${level}] ${msg}`, fields) });
    if (!c.faults) return amqp;
    log(`message faults are ON for this process (transport.faults, seed ${c.faults.seed}): sent messages are dropped, duplicated, delayed or reordered`);
    return new FaultTransport(amqp, c.faults, (fault, topic, msg) => log(`message fault: ${fault} ${msg.kind} ${msg.method} to ${topic}`));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(why.includes(maskUrl(target.url)) ? why : `cannot connect to RabbitMQ at ${maskUrl(target.url)}: ${why}`);
  }
}

/** Closes what was opened, in reverse, logging (not throwing) failures so every close is attempted. */
export async function closeAll(log: LogFn, steps: readonly (readonly [string, () => Promise<unknown>])[]): Promise<void> {
  for (const [what, close] of [...steps].reverse()) {
    try {
      await close();
    } catch (e) {
      log(`closing ${what} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

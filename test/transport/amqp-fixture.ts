/**
 * RabbitMQ helpers for the transport tests: reachability probe (fail under CI, skip elsewhere), a
 * unique exchange per run, clean-up of everything a run declared, and killing a run's connections
 * from the broker side.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { createAmqpTransport } from '../../src/rpc/transports/amqp/amqp-transport.js';
import { maskUrl } from '../../src/rpc/transports/amqp/amqp-url.js';
import type { Transport } from '../../src/rpc/transport.js';

export const AMQP_URL = process.env.BATON_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** null if reachable, else the sentence to fail (CI) or skip with. */
export async function rabbitUnreachable(url = AMQP_URL): Promise<string | null> {
  try {
    const c = await connect(url, { timeout: 2000 });
    await c.close();
    return null;
  } catch (err) {
    return `RabbitMQ at ${maskUrl(url)} is unreachable (${err instanceof Error ? err.message : String(err)}); `
      + 'start it with `rabbitmq-server -detached`';
  }
}

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export interface LogLine { readonly level: string; readonly msg: string }

/** One test run's corner of the broker: its own exchange, and the topics it used. */
export class AmqpRun {
  readonly exchange = `baton-test-${randomUUID().slice(0, 8)}`;
  readonly logs: LogLine[] = [];
  readonly #topics = new Set<string>();
  readonly #made: Transport[] = [];

  async transport(opts: { prefetch?: number } = {}): Promise<Transport> {
    const t = await createAmqpTransport({
      url: AMQP_URL, exchange: this.exchange, prefetch: opts.prefetch, maxReconnectDelayMs: 500,
      log: (level, msg) => this.logs.push({ level, msg }),
    });
    this.#made.push(t);
    return t;
  }

  topic(name: string): string {
    this.#topics.add(name);
    return name;
  }

  queue(topic: string): string {
    return `${this.exchange}.${topic}`;
  }

  /** Closes every transport of the run and deletes its queues and exchange. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.#made.map((t) => t.close()));
    const c = await connect(AMQP_URL);
    const ch = await c.createChannel();
    for (const t of this.#topics) await ch.deleteQueue(this.queue(t));
    await ch.deleteQueue(this.queue('dead-letter'));
    await ch.deleteExchange(this.exchange);
    await c.close();
  }

  /** Closes this run's connections from the broker side, as a broker restart or a network cut would. */
  async killConnections(): Promise<number> {
    const run = promisify(execFile);
    // Tab-separated output: the JSON formatter prints pids in a form close_connection does not accept.
    const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties']);
    const ours = stdout.split('\n')
      .filter((line) => line.includes(`{"connection_name","baton ${this.exchange} `))
      .map((line) => line.split('\t')[0] ?? '');
    for (const pid of ours) await run('rabbitmqctl', ['-q', 'close_connection', pid, 'test']);
    return ours.length;
  }
}

export async function rawPublish(exchange: string, routingKey: string, body: Buffer): Promise<void> {
  const c = await connect(AMQP_URL);
  const ch = await c.createConfirmChannel();
  ch.publish(exchange, routingKey, body);
  await ch.waitForConfirms();
  await c.close();
}

export { connect as rawConnect };

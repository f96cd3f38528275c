/**
 * A broker-side tap. One queue is bound to the deployment's exchange with "#". Calls bypass that
 * exchange (the transport sends them straight to the topic queue through the default exchange), so a
 * second queue reads the broker's firehose (`rabbitmqctl trace_on`) for publishes to the default
 * exchange that target this deployment's queues. Together they see every request a process sent.
 */
import { connect, type ChannelModel } from 'amqplib';
import type { Envelope } from '../../src/rpc/transport.js';

export interface Tapped {
  /** The topic: "conductor" or "compute.<host>" (reply queues keep their queue name). */
  readonly routingKey: string;
  readonly via: 'exchange' | 'default-exchange';
  readonly fromRole: string;
  readonly fromHost: string;
  readonly method: string;
  readonly kind: string;
}

export class BrokerTap {
  readonly seen: Tapped[] = [];
  #conn: ChannelModel | null = null;

  async open(url: string, exchange: string): Promise<void> {
    const conn = await connect(url);
    conn.on('error', () => undefined); // a broker stop closes it; the test reopens it
    const ch = await conn.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, exchange, '#');
    await ch.consume(queue, (m) => { if (m) this.#record(m.fields.routingKey, 'exchange', m.content); }, { noAck: true });
    const trace = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(trace.queue, 'amq.rabbitmq.trace', 'publish.');
    const prefix = `${exchange}.`;
    await ch.consume(trace.queue, (m) => {
      const target = (m?.properties.headers?.['routing_keys'] as unknown[] | undefined)?.[0];
      if (m && typeof target === 'string' && target.startsWith(prefix)) this.#record(target.slice(prefix.length), 'default-exchange', m.content);
    }, { noAck: true });
    this.#conn = conn;
  }

  #record(routingKey: string, via: Tapped['via'], body: Buffer): void {
    let env: Partial<Envelope> = {};
    try { env = JSON.parse(body.toString()) as Envelope; } catch { /* recorded as unknown */ }
    this.seen.push({ routingKey, via, fromRole: env.from?.role ?? '?', fromHost: env.from?.host ?? '?', method: env.method ?? '?',
      kind: env.kind ?? '?' });
  }

  /** Messages a compute sent to a compute topic: what the design forbids. */
  computeToCompute(): Tapped[] {
    return this.seen.filter((t) => t.fromRole === 'compute' && t.routingKey.startsWith('compute.'));
  }

  /** Counts by "role -> topic kind", e.g. "conductor -> compute": 512. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.seen) {
      const to = t.routingKey.startsWith('compute.') ? 'compute' : t.routingKey.startsWith('reply.') ? 'reply' : t.routingKey;
      const k = `${t.fromRole} -> ${to} (${t.kind})`;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#conn?.close().catch(() => undefined);
    this.#conn = null;
  }
}

/**
 * The Transport port over AMQP 0-9-1 (RabbitMQ). Casts and lcalls go to the topic exchange with the
 * topic as routing key; calls go straight to the topic's (declared and bound) queue. Replies come back
 * on the process's one reply queue and are matched by correlation id. call: non-persistent, on a plain
 * channel. lcall and cast: persistent, on a confirm channel, to durable queues. call and lcall expire
 * at their deadline. See amqp-connection.ts for reconnection.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';
import { BatonError } from '../../../core/errors.js';
import type { Envelope, Handler, Reply, Subscription, Transport } from '../../transport.js';
import { AmqpConnection, type Link } from './amqp-connection.js';
import { errText, stderrLog, type AmqpLog } from './amqp-log.js';
import { AmqpSender } from './amqp-sender.js';
import { AmqpSubscription, type SubscriptionDeps } from './amqp-subscription.js';
import { AmqpTopology, DEFAULT_EXCHANGE } from './amqp-topology.js';
import { ReplyMux } from './reply-mux.js';

export interface AmqpTransportOptions {
  /** e.g. amqp://guest:guest@127.0.0.1:5672; a `heartbeat` query parameter overrides heartbeatSec. */
  readonly url: string;
  /** Topic exchange name. Default "baton". Other names also prefix the queue names. */
  readonly exchange?: string;
  /** Unacked messages per serve() consumer. Default 64. */
  readonly prefetch?: number;
  /** AMQP heartbeat. Default 10 s. */
  readonly heartbeatSec?: number;
  readonly log?: AmqpLog;
  /** How long publish() waits for a lost connection to return before rejecting. Default 5000 ms. */
  readonly publishTimeoutMs?: number;
  /** Cap of the reconnect backoff (100 ms doubling). Default 5000 ms. */
  readonly maxReconnectDelayMs?: number;
}

/** Connects (failing with the masked URL if it cannot) and returns a ready transport. */
export async function createAmqpTransport(opts: AmqpTransportOptions): Promise<Transport> {
  const t = new AmqpTransport(opts);
  await t.start();
  return t;
}

type State = 'open' | 'draining' | 'closed';

class AmqpTransport implements Transport {
  readonly #conn: AmqpConnection;
  readonly #topology: AmqpTopology;
  readonly #mux = new ReplyMux(`${randomUUID().slice(0, 8)}.`);
  readonly #subs = new Set<AmqpSubscription>();
  readonly #publishing = new Set<Promise<unknown>>();
  readonly #subDeps: SubscriptionDeps;
  readonly #sender: AmqpSender;
  readonly #log: AmqpLog;
  #state: State = 'open';
  #closing: Promise<void> | null = null;

  constructor(opts: AmqpTransportOptions) {
    const log = opts.log ?? stderrLog;
    this.#log = log;
    this.#topology = new AmqpTopology(opts.exchange ?? DEFAULT_EXCHANGE);
    this.#conn = new AmqpConnection({
      url: opts.url, heartbeatSec: opts.heartbeatSec ?? 10, log, maxBackoffMs: opts.maxReconnectDelayMs ?? 5000,
      connectTimeoutMs: 5000, name: `baton ${this.#topology.exchange} ${hostname()} pid ${process.pid}`,
    });
    this.#sender = new AmqpSender(this.#conn, this.#topology, this.#mux, opts.publishTimeoutMs ?? 5000,
      () => this.#state === 'closed');
    this.#subDeps = {
      topology: this.#topology, prefetch: opts.prefetch ?? 64, log,
      reply: this.#sender.reply, onClosed: (sub) => this.#subs.delete(sub),
    };
    this.#conn.onUp((link) => this.#onUp(link));
  }

  start(): Promise<void> {
    return this.#conn.start();
  }

  async serve(topic: string, handler: Handler): Promise<Subscription> {
    if (this.#state !== 'open') throw new BatonError('Internal', 'AMQP transport is closed');
    const sub = new AmqpSubscription(topic, handler, this.#subDeps);
    this.#subs.add(sub);
    // While disconnected the subscription is attached by the reconnect, like every other one.
    const link = this.#conn.link;
    if (link) {
      try {
        await sub.attach(link);
      } catch (err) {
        if (this.#conn.link === link) {
          this.#subs.delete(sub);
          throw new BatonError('Internal', `cannot consume ${topic} on RabbitMQ at ${this.#conn.masked}: ${errText(err)}`);
        }
      }
    }
    return sub;
  }

  request(topic: string, msg: Envelope, timeoutMs: number): Promise<Reply> {
    if (this.#state === 'closed') return Promise.reject(new BatonError('Internal', 'AMQP transport is closed'));
    return this.#sender.request(topic, msg, timeoutMs);
  }

  publish(topic: string, msg: Envelope): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new BatonError('Internal', 'AMQP transport is closed'));
    const p = this.#sender.publish(topic, msg);
    this.#publishing.add(p);
    void p.then(() => this.#publishing.delete(p), () => this.#publishing.delete(p));
    return p;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'draining'; // handlers still finishing may send requests and casts
    await Promise.all([...this.#subs].map((s) => s.close()));
    await Promise.allSettled([...this.#publishing]);
    this.#state = 'closed';
    this.#mux.failAll(new BatonError('Internal', 'AMQP transport closed before the reply arrived'));
    const link = this.#conn.link;
    if (link) await link.fast.deleteQueue(this.#topology.replyQueue).catch(() => undefined);
    await this.#conn.close();
  }

  async #onUp(link: Link): Promise<void> {
    await this.#topology.declareExchange(link.fast);
    await this.#topology.declareReplyQueue(link.fast);
    await link.fast.consume(this.#topology.replyQueue, (m) => (m ? this.#onReply(m) : this.#replyConsumerLost(link)), { noAck: true });
    for (const sub of [...this.#subs]) await sub.attach(link);
  }

  #onReply(msg: ConsumeMessage): void {
    this.#mux.settle(msg.properties.correlationId as string | undefined, msg.content);
  }

  /** The broker cancelled the reply consumer (its queue was deleted): reconnect to declare it again. */
  #replyConsumerLost(link: Link): void {
    if (this.#state === 'closed') return; // close() deleted the queue itself
    this.#log('warn', `RabbitMQ cancelled the reply consumer on ${this.#topology.replyQueue}; reconnecting`);
    void link.model.close().catch(() => undefined);
  }
}

/**
 * The Transport port over AMQP 0-9-1 (RabbitMQ). Casts and lcalls go to the topic exchange with the
 * topic as routing key; calls go straight to the topic's (declared and bound) queue. Replies come back
 * on the process's one reply queue and are matched by correlation id. call: non-persistent, on a plain
 * channel. lcall and cast: persistent, on a confirm channel, to durable queues. call and lcall expire
 * at their deadline. See amqp-connection.ts for reconnection.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ConsumeMessage, Options } from 'amqplib';
import { BatonError } from '../../../core/errors.js';
import type { Envelope, Handler, MessageKind, Reply, Subscription, Transport } from '../../transport.js';
import { AmqpConnection, type Link } from './amqp-connection.js';
import { errText, stderrLog, type AmqpLog } from './amqp-log.js';
import { confirmPublish, ensureTopic, JSON_TYPE, sleep, unconfirmedError } from './amqp-publisher.js';
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
  readonly #publishTimeoutMs: number;
  #state: State = 'open';
  #closing: Promise<void> | null = null;

  constructor(opts: AmqpTransportOptions) {
    const log = opts.log ?? stderrLog;
    this.#topology = new AmqpTopology(opts.exchange ?? DEFAULT_EXCHANGE);
    this.#publishTimeoutMs = opts.publishTimeoutMs ?? 5000;
    this.#conn = new AmqpConnection({
      url: opts.url, heartbeatSec: opts.heartbeatSec ?? 10, log, maxBackoffMs: opts.maxReconnectDelayMs ?? 5000,
      connectTimeoutMs: 5000, name: `baton ${this.#topology.exchange} ${hostname()} pid ${process.pid}`,
    });
    this.#subDeps = {
      topology: this.#topology, prefetch: opts.prefetch ?? 64, log,
      reply: this.#sendReply, onClosed: (sub) => this.#subs.delete(sub),
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
    const body = Buffer.from(JSON.stringify(msg));
    return new Promise<Reply>((resolve, reject) => {
      const id = this.#mux.add(topic, msg.method, timeoutMs, resolve, reject);
      const link = this.#conn.link;
      if (link !== null && link.declared.has(topic) && this.#trySend(link, topic, msg, body, id, timeoutMs)) return;
      void this.#sendLater(topic, msg, body, id, Date.now() + timeoutMs);
    });
  }

  publish(topic: string, msg: Envelope): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new BatonError('Internal', 'AMQP transport is closed'));
    const p = this.#publishConfirmed(topic, msg, Buffer.from(JSON.stringify(msg)));
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
    await link.fast.consume(this.#topology.replyQueue, this.#onReply, { noAck: true });
    for (const sub of [...this.#subs]) await sub.attach(link);
  }

  readonly #onReply = (msg: ConsumeMessage | null): void => {
    if (msg) this.#mux.settle(msg.properties.correlationId as string | undefined, msg.content);
  };

  readonly #sendReply = (replyTo: string, correlationId: string | undefined, body: Buffer): boolean => {
    const link = this.#conn.link;
    if (!link) return false;
    link.fast.sendToQueue(replyTo, body, correlationId ? { correlationId, contentType: JSON_TYPE } : { contentType: JSON_TYPE });
    return true;
  };

  /** Publishes a request; false if the link's channel is already closed (nothing was sent). */
  #trySend(link: Link, topic: string, msg: Envelope, body: Buffer, id: string, ttlMs: number): boolean {
    const kind: MessageKind = msg.kind;
    const props: Options.Publish = {
      correlationId: id, replyTo: this.#topology.replyQueue, contentType: JSON_TYPE,
      expiration: String(Math.max(1, Math.ceil(ttlMs))), // the request dies at its deadline
      deliveryMode: kind === 'call' ? 1 : 2,
    };
    try {
      if (kind === 'call') {
        // Straight to the topic's queue through the default exchange: same destination (the queue is
        // declared and bound before the first send), but topic-exchange routing nearly doubles the
        // broker's CPU per call on RabbitMQ 3.10 (measured ~190 vs ~100 us).
        link.fast.publish('', this.#topology.queueName(topic), body, props);
      } else {
        link.confirm.publish(this.#topology.exchange, topic, body, props, (err: unknown) => {
          if (err) this.#mux.fail(id, unconfirmedError(kind, msg.method, topic, err));
        });
      }
      return true;
    } catch {
      return false;
    }
  }

  /** Slow path: waits for a link (bounded by the deadline), declares the topic, then sends. */
  async #sendLater(topic: string, msg: Envelope, body: Buffer, id: string, deadline: number): Promise<void> {
    let last: Link | null = null;
    while (this.#mux.has(id)) {
      const link = await this.#nextLink(last, deadline);
      if (!link || !this.#mux.has(id)) return; // the mux timer reports the timeout
      last = link;
      try {
        await ensureTopic(link, this.#topology, topic);
      } catch (err) {
        if (this.#conn.link !== link) continue;
        this.#mux.fail(id, new BatonError('Internal', `cannot declare ${topic} on RabbitMQ: ${errText(err)}`, { topic }));
        return;
      }
      if (this.#mux.has(id) && this.#trySend(link, topic, msg, body, id, deadline - Date.now())) return;
    }
  }

  async #publishConfirmed(topic: string, msg: Envelope, body: Buffer): Promise<void> {
    const deadline = Date.now() + this.#publishTimeoutMs;
    let last: Link | null = null;
    for (;;) {
      const link = await this.#nextLink(last, deadline);
      if (!link) {
        throw new BatonError('MessagingTimeout', `cast ${msg.method} to ${topic} not sent: RabbitMQ at ${this.#conn.masked} `
          + `unavailable for ${this.#publishTimeoutMs} ms`, { topic, method: msg.method });
      }
      last = link;
      try {
        if (!link.declared.has(topic)) await ensureTopic(link, this.#topology, topic);
      } catch (err) {
        if (this.#conn.link !== link) continue;
        throw new BatonError('Internal', `cast ${msg.method} to ${topic} not sent: cannot declare its queue: ${errText(err)}`,
          { topic, method: msg.method });
      }
      let confirmed: Promise<void>;
      try {
        confirmed = confirmPublish(link.confirm, this.#topology.exchange, topic, body, { deliveryMode: 2, contentType: JSON_TYPE });
      } catch {
        continue; // the channel is closed, so nothing was sent: wait for the next link
      }
      await confirmed.catch((err: unknown) => { throw unconfirmedError('cast', msg.method, topic, err); });
      return;
    }
  }

  /** A link other than `prev` (which failed), waiting for a reconnect up to the deadline. */
  async #nextLink(prev: Link | null, deadline: number): Promise<Link | null> {
    while (Date.now() < deadline && this.#state !== 'closed') {
      const link = this.#conn.link ?? await this.#conn.whenUp(deadline);
      if (!link || link !== prev) return link;
      await sleep(Math.min(20, deadline - Date.now())); // prev is dying but its close event has not arrived yet
    }
    return null;
  }
}

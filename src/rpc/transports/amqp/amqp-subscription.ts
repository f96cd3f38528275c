/**
 * One serve(): a consumer on the topic's durable queue, on its own channel so its prefetch bound and
 * its failures stay its own. A message is acked only after the handler's promise settles and the
 * reply (for call/lcall) is on its way, so a crash before that redelivers it. Handler failures become
 * {ok:false} replies; a malformed message is rejected without requeue and logged. After a reconnect
 * attach() runs again on the new link.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { toErrorBody } from '../../../core/errors.js';
import type { Envelope, Handler, Reply, Subscription } from '../../transport.js';
import { decodeEnvelope } from './envelope-check.js';
import { errText, type AmqpLog } from './amqp-log.js';
import type { Link } from './amqp-connection.js';
import type { AmqpTopology } from './amqp-topology.js';

export interface SubscriptionDeps {
  readonly topology: AmqpTopology;
  readonly prefetch: number;
  readonly log: AmqpLog;
  /** Sends a reply on the current link; false when no link is up. */
  readonly reply: (replyTo: string, correlationId: string | undefined, body: Buffer) => boolean;
  readonly onClosed: (sub: AmqpSubscription) => void;
}

export class AmqpSubscription implements Subscription {
  readonly topic: string;
  readonly #handler: Handler;
  readonly #deps: SubscriptionDeps;
  #ch: Channel | null = null;
  #tag: string | null = null;
  #gen = 0;
  #inFlight = 0;
  #idle: Array<() => void> = [];
  #closed = false;

  constructor(topic: string, handler: Handler, deps: SubscriptionDeps) {
    this.topic = topic;
    this.#handler = handler;
    this.#deps = deps;
  }

  /** Declares, binds and consumes the topic's queue on `link`; a no-op if already attached to it. */
  async attach(link: Link): Promise<void> {
    if (this.#closed || this.#gen === link.gen) return;
    this.#gen = link.gen;
    try {
      const ch = await link.model.createChannel();
      ch.on('error', (err: Error) => this.#deps.log('warn', `consumer channel for ${this.topic} failed: ${err.message}`));
      // A consumer channel closed under us (not by close()): recycle the connection to get it back.
      ch.on('close', () => { if (!this.#closed && this.#ch === ch) void link.model.close().catch(() => undefined); });
      await ch.prefetch(this.#deps.prefetch);
      await this.#deps.topology.declareDeadLetter(ch);
      const queue = await this.#deps.topology.declareTopic(ch, this.topic);
      this.#ch = ch;
      this.#tag = (await ch.consume(queue, (msg) => this.#onMessage(ch, msg), { noAck: false })).consumerTag;
    } catch (err) {
      this.#gen = 0;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ch = this.#ch;
    if (ch && this.#tag) await ch.cancel(this.#tag).catch(() => undefined);
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    if (ch) await ch.close().catch(() => undefined);
    this.#ch = null;
    this.#deps.onClosed(this);
  }

  #onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled the consumer (queue deleted): consume again on the next attach.
      this.#deps.log('warn', `RabbitMQ cancelled the consumer of ${this.topic}`);
      this.#gen = 0;
      return;
    }
    if (this.#closed) {
      safely(() => ch.nack(msg, false, true)); // arrived during close: let another server take it
      return;
    }
    const decoded = decodeEnvelope(msg.content);
    if (decoded.env === undefined) {
      this.#deadLetter(ch, msg, `malformed: ${decoded.problem}`);
      safely(() => ch.ack(msg));
      return;
    }
    this.#inFlight++;
    void this.#run(ch, msg, decoded.env);
  }

  async #run(ch: Channel, msg: ConsumeMessage, env: Envelope): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.#handler(env);
    } catch (err) {
      reply = { ok: false, error: toErrorBody(err) };
    }
    if (!reply.ok && reply.rejected !== undefined) {
      this.#deadLetter(ch, msg, `refused ${String(env.method).slice(0, 64)} from ${String(env.from.role).slice(0, 16)} ${String(env.from.host).slice(0, 64)}: ${reply.rejected}`);
      const { rejected: _why, ...answer } = reply;
      reply = answer; // acknowledged below, once the caller has its answer
    }
    try {
      const { replyTo, correlationId } = msg.properties as { replyTo?: string; correlationId?: string };
      if (env.kind !== 'cast' && replyTo) {
        if (!this.#deps.reply(replyTo, correlationId, encodeReply(reply))) {
          this.#deps.log('warn', `reply to ${env.method} on ${this.topic} not sent: RabbitMQ connection is down`);
        }
      }
      ch.ack(msg);
    } catch (err) {
      // The channel died with the connection: the broker redelivers the unacked message.
      this.#deps.log('warn', `could not reply to or acknowledge ${env.method} on ${this.topic}: ${errText(err)}`);
    } finally {
      if (--this.#inFlight === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  /**
   * Logs the reason and copies the message to the dead-letter queue (reason and topic in its headers); the
   * caller then acknowledges the original, so bad input is kept for an operator and never requeued.
   */
  #deadLetter(ch: Channel, msg: ConsumeMessage, reason: string): void {
    const why = reason.slice(0, 1000);
    this.#deps.log('error', `rejected a message on ${this.topic}, kept in ${this.#deps.topology.deadLetterQueue}: ${why}`,
      { topic: this.topic, bytes: msg.content.length });
    safely(() => ch.sendToQueue(this.#deps.topology.deadLetterQueue, msg.content, { persistent: true,
      headers: { 'x-baton-reason': why, 'x-baton-topic': this.topic } }));
  }
}

function encodeReply(reply: Reply): Buffer {
  try {
    return Buffer.from(JSON.stringify(reply));
  } catch (err) {
    return Buffer.from(JSON.stringify({ ok: false, error: { code: 'Internal', message: `reply is not JSON: ${errText(err)}` } }));
  }
}

function safely(f: () => void): void {
  try {
    f();
  } catch {
    // channel already closed: the broker requeues the message itself
  }
}

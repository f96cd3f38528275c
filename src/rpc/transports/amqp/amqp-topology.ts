/**
 * What Baton declares on the broker. One durable topic exchange; one durable queue per topic, bound
 * with the topic as its key ("conductor" is shared round-robin by every conductor, "compute.<host>"
 * belongs to one compute). With the default exchange the queue is named after the topic, as Nova's
 * are; any other exchange prefixes its queue names so two deployments (or test runs) on one vhost
 * never share a queue. Every declaration goes through here so publisher and consumer always declare
 * a queue with identical arguments (a mismatch would close the channel).
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Channel } from 'amqplib';

export const DEFAULT_EXCHANGE = 'baton';
/** An idle reply queue outlives a reconnect but is deleted by the broker after this long unused. */
const REPLY_QUEUE_EXPIRES_MS = 60_000;
/** The dead-letter queue keeps the newest refused messages, this many. */
const DEAD_LETTER_MAX = 10_000;

export class AmqpTopology {
  readonly exchange: string;
  readonly replyQueue: string;
  /** Where refused messages are kept, with the reason in their headers, instead of being requeued or lost. */
  readonly deadLetterQueue: string;
  readonly #prefix: string;

  constructor(exchange: string) {
    this.exchange = exchange;
    this.#prefix = exchange === DEFAULT_EXCHANGE ? '' : `${exchange}.`;
    this.replyQueue = `${this.#prefix}reply.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`;
    this.deadLetterQueue = `${this.#prefix}dead-letter`;
  }

  /** The durable dead-letter queue; idempotent. Capped so a flood of bad input cannot fill the broker. */
  async declareDeadLetter(ch: Channel): Promise<void> {
    await ch.assertQueue(this.deadLetterQueue, { durable: true, arguments: { 'x-max-length': DEAD_LETTER_MAX, 'x-overflow': 'drop-head' } });
  }

  queueName(topic: string): string {
    return this.#prefix + topic;
  }

  async declareExchange(ch: Channel): Promise<void> {
    await ch.assertExchange(this.exchange, 'topic', { durable: true });
  }

  /** Declares and binds the topic's durable queue; idempotent. */
  async declareTopic(ch: Channel, topic: string): Promise<string> {
    const queue = this.queueName(topic);
    await ch.assertQueue(queue, { durable: true });
    await ch.bindQueue(queue, this.exchange, topic);
    return queue;
  }

  /**
   * The process's reply queue. Not exclusive on purpose: an exclusive queue dies with its connection,
   * while this one survives a reconnect, so replies sent meanwhile still reach pending calls.
   */
  async declareReplyQueue(ch: Channel): Promise<void> {
    await ch.assertQueue(this.replyQueue, { durable: false, autoDelete: false, expires: REPLY_QUEUE_EXPIRES_MS });
  }
}

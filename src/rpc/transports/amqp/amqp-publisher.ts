/**
 * Publishing helpers shared by request() and publish(): the publisher declares a topic's durable
 * queue before its first message on each link, so a message sent before any server consumes the
 * topic waits in the queue instead of being dropped by the exchange.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ConfirmChannel, Options } from 'amqplib';
import { BatonError } from '../../../core/errors.js';
import { errText } from './amqp-log.js';
import type { Link } from './amqp-connection.js';
import type { AmqpTopology } from './amqp-topology.js';

export const JSON_TYPE = 'application/json';

/** Declares the topic's queue on `link` once; concurrent first publishes share one declaration. */
export function ensureTopic(link: Link, topology: AmqpTopology, topic: string): Promise<void> {
  let p = link.declaring.get(topic);
  if (!p) {
    p = declareOnce(link, topology, topic).then(
      () => { link.declared.add(topic); link.declaring.delete(topic); },
      (err: unknown) => { link.declaring.delete(topic); throw err; });
    link.declaring.set(topic, p);
  }
  return p;
}

async function declareOnce(link: Link, topology: AmqpTopology, topic: string): Promise<void> {
  // A short-lived channel: a failed declaration closes only it, not the publishing channels.
  const ch = await link.model.createChannel();
  ch.on('error', () => undefined);
  try {
    await topology.declareTopic(ch, topic);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** Publishes on the confirm channel; resolves on the broker's ack. Throws synchronously if the channel is closed. */
export function confirmPublish(ch: ConfirmChannel, exchange: string, topic: string, body: Buffer,
  props: Options.Publish): Promise<void> {
  let settle!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve());
  });
  ch.publish(exchange, topic, body, props, settle);
  return done;
}

/** The error for a message the broker did not confirm: refused outright, or outcome unknown. */
export function unconfirmedError(kind: string, method: string, topic: string, err: unknown): BatonError {
  const text = errText(err);
  if (/nack/i.test(text)) {
    return new BatonError('Internal', `RabbitMQ refused ${kind} ${method} to ${topic} (${text})`, { topic, method });
  }
  return new BatonError('MessagingTimeout',
    `connection lost before RabbitMQ confirmed ${kind} ${method} to ${topic}; it may or may not have been delivered (${text})`,
    { topic, method });
}

export function sleep(ms: number): Promise<void> {
  return delay(Math.max(0, ms));
}

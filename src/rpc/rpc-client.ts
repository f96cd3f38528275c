/** Calls and casts over a Transport, with versions and typed errors rebuilt at the caller. */
import { randomUUID } from 'node:crypto';
import { BatonError, fromBody } from '../core/errors.js';
import type { Envelope, MessageKind, Sender, Transport } from './transport.js';

export interface SendOptions {
  /** RPC API version to stamp; the receiver refuses a version it cannot handle. */
  readonly version: string;
  readonly timeoutMs?: number;
}

export class RpcClient {
  readonly #transport: Transport;
  readonly #from: Sender;
  readonly #defaultTimeoutMs: number;

  constructor(transport: Transport, from: Sender, defaultTimeoutMs = 60_000) {
    this.#transport = transport;
    this.#from = from;
    this.#defaultTimeoutMs = defaultTimeoutMs;
  }

  get sender(): Sender {
    return this.#from;
  }

  /** Request/reply: resolves with the result, or throws the remote error (or MessagingTimeout). */
  async call<T = unknown>(topic: string, method: string, args: Record<string, unknown>, opts: SendOptions): Promise<T> {
    return (await this.#request(topic, method, 'call', args, opts)) as T;
  }

  /** The spec's lightweight call: resolves once the receiver acknowledged it accepted the work. */
  async lcall(topic: string, method: string, args: Record<string, unknown>, opts: SendOptions): Promise<void> {
    await this.#request(topic, method, 'lcall', args, opts);
  }

  /** Fire and forget: resolves once the transport holds the message. */
  async cast(topic: string, method: string, args: Record<string, unknown>, opts: SendOptions): Promise<void> {
    await this.#transport.publish(topic, this.#envelope(method, 'cast', args, opts.version));
  }

  async #request(topic: string, method: string, kind: MessageKind, args: Record<string, unknown>, opts: SendOptions): Promise<unknown> {
    const reply = await this.#transport.request(topic, this.#envelope(method, kind, args, opts.version), opts.timeoutMs ?? this.#defaultTimeoutMs);
    if (!reply.ok) throw fromBody(reply.error);
    return reply.result;
  }

  #envelope(method: string, kind: MessageKind, args: Record<string, unknown>, v: string): Envelope {
    return { v, id: randomUUID(), method, kind, from: this.#from, args };
  }
}

export function isTimeout(e: unknown): boolean {
  return e instanceof BatonError && e.code === 'MessagingTimeout';
}

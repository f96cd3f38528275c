/**
 * A Transport decorator that damages the messages a process sends, by seeded rules: drops them, sends them
 * twice, holds them back for up to seconds, or swaps them with the next message to the same topic. It exists
 * for the chaos run (`transport.faults`); a process without that key never builds it, so production sends go
 * straight to the real transport.
 *
 * What each fault means to the sender, as on a real network:
 * - drop: a cast or lcall is reported as sent and never arrives; a call's request never arrives (the caller
 *   times out), or its reply is lost after the receiver acted (the caller times out too).
 * - duplicate: the receiver gets the message twice; a caller takes the first reply.
 * - delay: the message leaves later; a cast is reported as sent at once, a call's deadline keeps running.
 * - reorder: the message waits until the next one to the same topic has gone (or `maxDelayMs` passed).
 */
import { BatonError } from '../../core/errors.js';
import type { Envelope, Handler, Reply, Subscription, Transport } from '../transport.js';

/** The rates (each a probability from 0 to 1 per message) and the seed of one process's message faults. */
export interface MessageFaults {
  readonly seed: number;
  readonly drop?: number;
  readonly duplicate?: number;
  readonly delay?: number;
  readonly reorder?: number;
  /** Longest delay, and longest wait of a reordered message. Default 2000 ms. */
  readonly maxDelayMs?: number;
  /** Only messages of these methods are touched; absent: every method. */
  readonly methods?: readonly string[];
}

export const MessageFault = { DROP: 'drop', DROP_REPLY: 'drop-reply', DUPLICATE: 'duplicate', DELAY: 'delay', REORDER: 'reorder' } as const;
export type MessageFault = (typeof MessageFault)[keyof typeof MessageFault];

/** A fault as it was applied, for the process's log and the chaos run's counts. */
export type FaultListener = (fault: MessageFault, topic: string, msg: Envelope) => void;

/** mulberry32: a small, fast, seedable generator; the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Parked {
  readonly send: () => void;
  readonly timer: NodeJS.Timeout;
}

export class FaultTransport implements Transport {
  readonly #inner: Transport;
  readonly #f: MessageFaults;
  readonly #random: () => number;
  readonly #onFault: FaultListener;
  readonly #parked = new Map<string, Parked>();
  readonly #timers = new Map<NodeJS.Timeout, () => void>();

  constructor(inner: Transport, faults: MessageFaults, onFault: FaultListener = () => undefined) {
    this.#inner = inner;
    this.#f = faults;
    this.#random = seededRandom(faults.seed);
    this.#onFault = onFault;
  }

  serve(topic: string, handler: Handler): Promise<Subscription> {
    return this.#inner.serve(topic, handler);
  }

  async publish(topic: string, msg: Envelope): Promise<void> {
    const fault = this.#pick(msg);
    if (fault === null) return this.#release(topic, () => this.#inner.publish(topic, msg));
    this.#onFault(fault, topic, msg);
    const send = () => { void this.#inner.publish(topic, msg).catch(() => undefined); };
    if (fault === 'drop' || fault === 'drop-reply') return;
    if (fault === 'duplicate') {
      await this.#inner.publish(topic, msg);
      return this.#inner.publish(topic, msg);
    }
    if (fault === 'delay') this.#later(send, this.#delayMs());
    else this.#park(topic, send);
  }

  async request(topic: string, msg: Envelope, timeoutMs: number): Promise<Reply> {
    const fault = this.#pick(msg);
    if (fault === null) return this.#release(topic, () => this.#inner.request(topic, msg, timeoutMs));
    this.#onFault(fault, topic, msg);
    const started = Date.now();
    const left = () => Math.max(1, timeoutMs - (Date.now() - started));
    switch (fault) {
      case 'drop':
        return this.#timeout(topic, msg, timeoutMs);
      case 'drop-reply':
        // The receiver acts on the request; only its answer is lost.
        await this.#inner.request(topic, msg, timeoutMs).catch(() => undefined);
        return this.#timeout(topic, msg, left());
      case 'duplicate': {
        const second = this.#inner.request(topic, msg, timeoutMs);
        second.catch(() => undefined);
        return Promise.any([this.#inner.request(topic, msg, timeoutMs), second]).catch((e: AggregateError) => { throw e.errors[0]; });
      }
      case 'delay':
      case 'reorder': {
        await this.#sleep(Math.min(this.#delayMs(), timeoutMs));
        return this.#inner.request(topic, msg, left());
      }
    }
  }

  async close(): Promise<void> {
    for (const p of this.#parked.values()) { clearTimeout(p.timer); p.send(); }
    this.#parked.clear();
    // What waits is let go now, so no handler in progress hangs on a delay while the transport closes.
    for (const [t, fn] of this.#timers) { clearTimeout(t); fn(); }
    this.#timers.clear();
    await this.#inner.close();
  }

  /** One draw per message, so the sequence of faults depends only on the seed and the order of sends. */
  #pick(msg: Envelope): MessageFault | null {
    if (this.#f.methods && !this.#f.methods.includes(msg.method)) return null;
    let r = this.#random();
    const bands: [MessageFault, number | undefined][] = [['drop', this.#f.drop], ['duplicate', this.#f.duplicate],
      ['delay', this.#f.delay], ['reorder', this.#f.reorder]];
    for (const [fault, rate] of bands) {
      if (r < (rate ?? 0)) {
        // A dropped call loses its request or its reply, half and half.
        if (fault === 'drop' && msg.kind === 'call' && r < (rate ?? 0) / 2) return 'drop-reply';
        return fault;
      }
      r -= rate ?? 0;
    }
    return null;
  }

  /** Sends `send`, then a message parked on this topic behind it: the two arrive swapped. */
  async #release<T>(topic: string, send: () => Promise<T>): Promise<T> {
    const parked = this.#parked.get(topic);
    try {
      return await send();
    } finally {
      if (parked) {
        this.#parked.delete(topic);
        clearTimeout(parked.timer);
        parked.send();
      }
    }
  }

  #park(topic: string, send: () => void): void {
    const before = this.#parked.get(topic);
    if (before) { clearTimeout(before.timer); before.send(); }
    const timer = setTimeout(() => { this.#parked.delete(topic); send(); }, this.#maxDelay());
    timer.unref();
    this.#parked.set(topic, { send, timer });
  }

  #later(fn: () => void, ms: number): void {
    const t = setTimeout(() => { this.#timers.delete(t); fn(); }, ms);
    this.#timers.set(t, fn);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((r) => this.#later(r, ms));
  }

  #timeout(topic: string, msg: Envelope, ms: number): Promise<Reply> {
    return this.#sleep(ms).then(() => {
      throw new BatonError('MessagingTimeout', `Timed out waiting for a reply to ${msg.method} on ${topic} after ${ms} ms`,
        { topic, method: msg.method });
    });
  }

  #maxDelay(): number {
    return this.#f.maxDelayMs ?? 2000;
  }

  #delayMs(): number {
    return Math.floor(this.#random() * this.#maxDelay());
  }
}

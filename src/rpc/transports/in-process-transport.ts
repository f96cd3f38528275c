/**
 * In-process transport for the embedded default. Every message crosses a JSON round trip, so no
 * object is ever shared between roles, exactly as if it had crossed a broker. A trace hook sees
 * every request, cast and reply.
 */
import { BatonError, toErrorBody } from '../../core/errors.js';
import { topicRole, type Envelope, type Handler, type Reply, type Subscription, type TraceHook, type Transport } from '../transport.js';

/** Decides whether a message to `topic` is held back (see InProcessBus.hold). */
export type HoldFilter = (topic: string, msg: Envelope) => boolean;

interface Held {
  readonly topic: string;
  readonly wire: string;
  readonly expiresAt: number | null;
  readonly resolve: (reply: string) => void;
}

interface Hold {
  readonly filter: HoldFilter;
  readonly held: Held[];
}

interface Consumer {
  readonly handler: Handler;
  inFlight: Set<Promise<unknown>>;
  closed: boolean;
}

/** One bus is one "broker": every transport made from it reaches every other. */
export class InProcessBus {
  readonly #topics = new Map<string, Consumer[]>();
  readonly #cursor = new Map<string, number>();
  /** Messages waiting for a consumer; a request carries its deadline and is dropped once past it, as a broker would. */
  readonly #backlog = new Map<string, { wire: string; expiresAt: number | null }[]>();
  readonly #holds = new Set<Hold>();
  #trace: TraceHook | null = null;
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Records every message; pass null to stop. */
  setTrace(hook: TraceHook | null): void {
    this.#trace = hook;
  }

  /**
   * Fault hook for tests: from now on, messages that `filter` matches (requests and casts alike, not replies) are
   * held instead of delivered, as by a partitioned or slow broker. The returned function releases them in the order
   * they were sent; a request whose deadline passed meanwhile is dropped (its caller has already timed out).
   */
  hold(filter: HoldFilter): () => void {
    const hold: Hold = { filter, held: [] };
    this.#holds.add(hold);
    return () => {
      if (!this.#holds.delete(hold)) return;
      const now = Date.now();
      for (const m of hold.held) {
        if (m.expiresAt !== null && m.expiresAt <= now) continue;
        void this.deliver(m.topic, m.wire, m.expiresAt)?.then(m.resolve);
      }
    };
  }

  transport(): Transport {
    return new InProcessTransport(this);
  }

  /** @internal */
  trace(msg: Envelope, topic: string, kind: Envelope['kind'] | 'reply'): void {
    if (!this.#trace) return;
    const at = this.#now();
    if (kind === 'reply') {
      // A reply travels from the topic's consumer back to whoever sent the request.
      const from = { role: topicRole(topic), host: topic.startsWith('compute.') ? topic.slice('compute.'.length) : topic };
      this.#trace({ from, to: `${msg.from.role}.${msg.from.host}`, toRole: msg.from.role, method: msg.method, kind, at });
    } else {
      this.#trace({ from: msg.from, to: topic, toRole: topicRole(topic), method: msg.method, kind, at });
    }
  }

  /** @internal Adds a consumer and hands it any messages that waited for one. */
  addConsumer(topic: string, c: Consumer): void {
    const list = this.#topics.get(topic) ?? [];
    list.push(c);
    this.#topics.set(topic, list);
    const waiting = this.#backlog.get(topic);
    if (waiting) {
      this.#backlog.delete(topic);
      const now = Date.now();
      for (const m of waiting) if (m.expiresAt === null || m.expiresAt > now) void this.deliver(topic, m.wire, m.expiresAt);
    }
  }

  /** @internal */
  removeConsumer(topic: string, c: Consumer): void {
    const list = (this.#topics.get(topic) ?? []).filter((x) => x !== c);
    this.#topics.set(topic, list);
  }

  /** @internal Round-robin among live consumers; with none, casts wait (like a durable queue). */
  pick(topic: string): Consumer | undefined {
    const list = (this.#topics.get(topic) ?? []).filter((c) => !c.closed);
    if (list.length === 0) return undefined;
    const i = (this.#cursor.get(topic) ?? 0) % list.length;
    this.#cursor.set(topic, i + 1);
    return list[i];
  }

  /** @internal Delivers a serialized message; the reply (if any) comes back serialized too. */
  deliver(topic: string, wire: string, expiresAt: number | null = null): Promise<string> | undefined {
    const hold = this.#holdFor(topic, wire);
    if (hold) return new Promise<string>((resolve) => hold.held.push({ topic, wire, expiresAt, resolve }));
    const c = this.pick(topic);
    if (!c) {
      const q = this.#backlog.get(topic) ?? [];
      q.push({ wire, expiresAt });
      this.#backlog.set(topic, q);
      return undefined;
    }
    const run = new Promise<string>((resolve) => setImmediate(() => {
      const msg = JSON.parse(wire) as Envelope;
      // A handler that throws, even synchronously, becomes an error reply with its code kept.
      Promise.resolve().then(() => c.handler(msg))
        .catch((err: unknown): Reply => ({ ok: false, error: toErrorBody(err) }))
        .then((reply) => resolve(JSON.stringify(reply)));
    }));
    c.inFlight.add(run);
    void run.finally(() => c.inFlight.delete(run));
    return run;
  }

  #holdFor(topic: string, wire: string): Hold | undefined {
    if (this.#holds.size === 0) return undefined;
    const msg = JSON.parse(wire) as Envelope;
    for (const h of this.#holds) if (h.filter(topic, msg)) return h;
    return undefined;
  }
}

class InProcessTransport implements Transport {
  readonly #bus: InProcessBus;
  readonly #subs = new Set<Subscription>();
  #closed = false;

  constructor(bus: InProcessBus) {
    this.#bus = bus;
  }

  async serve(topic: string, handler: Handler): Promise<Subscription> {
    const consumer: Consumer = { handler, inFlight: new Set(), closed: false };
    this.#bus.addConsumer(topic, consumer);
    const sub: Subscription = {
      close: async () => {
        consumer.closed = true;
        this.#bus.removeConsumer(topic, consumer);
        await Promise.allSettled([...consumer.inFlight]);
        this.#subs.delete(sub);
      },
    };
    this.#subs.add(sub);
    return sub;
  }

  request(topic: string, msg: Envelope, timeoutMs: number): Promise<Reply> {
    this.#assertOpen();
    this.#bus.trace(msg, topic, msg.kind);
    const wire = JSON.stringify(msg);
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new BatonError('MessagingTimeout',
        `Timed out waiting for a reply to ${msg.method} on ${topic} after ${timeoutMs} ms`, { topic, method: msg.method })), timeoutMs);
      const pending = this.#bus.deliver(topic, wire, Date.now() + timeoutMs);
      if (!pending) return; // no consumer yet: the request waits and may time out, as on a broker
      pending.then((replyWire) => {
        clearTimeout(timer);
        this.#bus.trace(msg, topic, 'reply');
        resolve(JSON.parse(replyWire) as Reply);
      }, reject);
    });
  }

  async publish(topic: string, msg: Envelope): Promise<void> {
    this.#assertOpen();
    this.#bus.trace(msg, topic, msg.kind);
    void this.#bus.deliver(topic, JSON.stringify(msg));
  }

  /** Stops consuming, lets the handlers in progress finish (they may still send), then refuses new sends. */
  async close(): Promise<void> {
    await Promise.all([...this.#subs].map((s) => s.close()));
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new BatonError('Internal', 'transport is closed');
  }
}

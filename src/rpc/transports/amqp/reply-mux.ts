/**
 * Pending requests of one process, keyed by correlation id. Every reply arrives on the process's one
 * reply queue and is matched here; every request is bounded by its own timer, so a lost request, a
 * lost reply or a dead connection all end as MessagingTimeout at the deadline at the latest.
 */
import { BatonError } from '../../../core/errors.js';
import type { Reply } from '../../transport.js';

interface Pending {
  readonly resolve: (r: Reply) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class ReplyMux {
  readonly #pending = new Map<string, Pending>();
  readonly #prefix: string;
  #seq = 0;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Registers a request and returns its correlation id. */
  add(topic: string, method: string, timeoutMs: number, resolve: (r: Reply) => void, reject: (e: Error) => void): string {
    const id = this.#prefix + (++this.#seq).toString(36);
    const timer = setTimeout(() => {
      this.#pending.delete(id);
      reject(new BatonError('MessagingTimeout',
        `Timed out waiting for a reply to ${method} on ${topic} after ${timeoutMs} ms`, { topic, method }));
    }, timeoutMs);
    this.#pending.set(id, { resolve, reject, timer });
    return id;
  }

  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /** Resolves the request with a reply body; a late or foreign reply is ignored. */
  settle(id: string | undefined, content: Buffer): void {
    const p = id === undefined ? undefined : this.#pending.get(id);
    if (!p || id === undefined) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    let reply: Reply;
    try {
      reply = JSON.parse(content.toString('utf8')) as Reply;
    } catch (err) {
      p.reject(new BatonError('Internal', `malformed reply: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    p.resolve(reply);
  }

  fail(id: string, err: Error): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.reject(err);
  }

  failAll(err: Error): void {
    for (const id of [...this.#pending.keys()]) this.fail(id, err);
  }
}

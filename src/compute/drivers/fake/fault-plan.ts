/**
 * Test hook for the fake driver: makes chosen operations fail or block on a latch.
 * Operations are named after driver methods ("prepareIncoming", "migrate.pass", "cleanupSource", ...).
 */
import { BatonError, type ErrorCode } from '../../../core/errors.js';

interface Rule {
  readonly op: string;
  remaining: number;
  readonly action: () => Promise<void>;
}

export class FaultPlan {
  readonly #rules: Rule[] = [];

  /** The next `times` calls of `op` throw `code`. */
  fail(op: string, opts: { times?: number; code?: ErrorCode; message?: string } = {}): this {
    const code = opts.code ?? 'MigrationError';
    const message = opts.message ?? `injected failure in ${op}`;
    this.#rules.push({ op, remaining: opts.times ?? 1, action: async () => { throw new BatonError(code, message); } });
    return this;
  }

  /** The next `times` calls of `op` take `ms` longer (real time). */
  delay(op: string, ms: number, times = 1): this {
    this.#rules.push({ op, remaining: times, action: () => new Promise((r) => setTimeout(r, ms)) });
    return this;
  }

  /** The next call of `op` blocks until the returned function is called. */
  hang(op: string): () => void {
    let release!: () => void;
    const latch = new Promise<void>((r) => { release = r; });
    this.#rules.push({ op, remaining: 1, action: () => latch });
    return release;
  }

  /** Called by the driver before each operation. */
  async before(op: string): Promise<void> {
    const rule = this.#rules.find((r) => r.op === op && r.remaining > 0);
    if (!rule) return;
    rule.remaining -= 1;
    await rule.action();
  }
}

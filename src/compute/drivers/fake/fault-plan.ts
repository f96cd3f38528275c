/**
 * Test hook for the fake driver: makes chosen operations fail or block on a latch, optionally for one
 * guest only (by uuid or name). Operations are named after driver methods ("prepareIncoming",
 * "migrate.pass", "cleanupSource", ...). Process tests set rules through `compute.fake.faults`.
 */
import { BatonError, type ErrorCode } from '../../../core/errors.js';

export const FAULT_OPS = ['spawn', 'checkDestination', 'checkSource', 'prepareIncoming', 'migrate.pass', 'cleanupSource', 'finishIncoming',
  'rollbackDestination', 'rollbackSource'] as const;
export type FaultOp = (typeof FAULT_OPS)[number];

/** Which guest a rule applies to; none: every guest. */
export interface GuestMatch {
  readonly uuid?: string;
  readonly name?: string;
}

/** One rule as the config file gives it (compute.fake.faults); `times` absent means every call. */
export interface FaultSpec extends GuestMatch {
  readonly op: FaultOp;
  readonly action: 'fail' | 'delay';
  readonly times?: number;
  /** delay: how long, in real milliseconds. */
  readonly ms?: number;
  /** fail: the error's code and message. */
  readonly code?: ErrorCode;
  readonly message?: string;
}

interface Rule {
  readonly op: string;
  readonly match: GuestMatch;
  remaining: number;
  readonly action: () => Promise<void>;
}

function matches(m: GuestMatch, guest: GuestMatch | undefined): boolean {
  if (m.uuid !== undefined && m.uuid !== guest?.uuid) return false;
  return m.name === undefined || m.name === guest?.name;
}

export class FaultPlan {
  readonly #rules: Rule[] = [];

  /** The plan the config describes, rules in order. */
  static fromSpecs(specs: readonly FaultSpec[]): FaultPlan {
    const plan = new FaultPlan();
    for (const s of specs) {
      const times = s.times ?? Number.POSITIVE_INFINITY;
      const match = { ...(s.uuid !== undefined ? { uuid: s.uuid } : {}), ...(s.name !== undefined ? { name: s.name } : {}) };
      if (s.action === 'delay') plan.delay(s.op, s.ms ?? 0, times, match);
      else plan.fail(s.op, { times, match, ...(s.code ? { code: s.code } : {}), ...(s.message ? { message: s.message } : {}) });
    }
    return plan;
  }

  /** The next `times` calls of `op` (for the matching guest) throw `code`. */
  fail(op: string, opts: { times?: number; code?: ErrorCode; message?: string; match?: GuestMatch } = {}): this {
    const code = opts.code ?? 'MigrationError';
    const message = opts.message ?? `injected failure in ${op}`;
    this.#rules.push({ op, match: opts.match ?? {}, remaining: opts.times ?? 1, action: async () => { throw new BatonError(code, message); } });
    return this;
  }

  /** The next `times` calls of `op` (for the matching guest) take `ms` longer (real time). */
  delay(op: string, ms: number, times = 1, match: GuestMatch = {}): this {
    this.#rules.push({ op, match, remaining: times, action: () => new Promise((r) => setTimeout(r, ms)) });
    return this;
  }

  /** The next call of `op` blocks until the returned function is called. */
  hang(op: string): () => void {
    let release!: () => void;
    const latch = new Promise<void>((r) => { release = r; });
    this.#rules.push({ op, match: {}, remaining: 1, action: () => latch });
    return release;
  }

  /** Called by the driver before each operation, with the guest it concerns when there is one. */
  async before(op: string, guest?: GuestMatch): Promise<void> {
    const rule = this.#rules.find((r) => r.op === op && r.remaining > 0 && matches(r.match, guest));
    if (!rule) return;
    rule.remaining -= 1;
    await rule.action();
  }
}

/**
 * A simulated clock for the fake hypervisor: sleeping advances simulated time instantly (after a
 * macrotask, so other work interleaves). Minutes of simulated copying take milliseconds of real time.
 * now() is wall time plus the simulated time slept so far, so timestamps stay ordered and plausible.
 */
import type { Clock } from '../core/ports.js';

export class SimClock implements Clock {
  #offset = 0;
  readonly #base: () => number;

  constructor(base: () => number = Date.now) {
    this.#base = base;
  }

  now(): number {
    return this.#base() + this.#offset;
  }

  async sleep(ms: number): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    if (ms > 0) this.#offset += ms;
  }
}

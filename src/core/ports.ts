/** Ports the pure core depends on. Adapters implement them; the core never reads the wall clock itself. */

/** A source of time. `now()` is milliseconds since the epoch; `sleep` resolves after `ms` of that clock's time. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** A source of unique identifiers (UUIDs in production, predictable ones in tests). */
export interface IdGenerator {
  uuid(): string;
}

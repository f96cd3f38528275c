/**
 * The backends the transport contract runs over. Each harness hands out transports that reach each
 * other (one bus, or one exchange on one broker) and removes what it created afterwards.
 */
import { InProcessBus } from '../../src/rpc/transports/in-process-transport.js';
import type { Transport } from '../../src/rpc/transport.js';
import { AmqpRun, IN_CI, rabbitUnreachable } from './amqp-fixture.js';

export interface Harness {
  readonly name: string;
  /** Why the suite cannot run here: fail with it (CI) or skip with it. */
  readonly unavailable: string | null;
  make(): Promise<Transport>;
  /** Registers a topic so teardown can delete what the backend keeps for it. */
  topic(name: string): string;
  teardown(): Promise<void>;
}

export function inProcessHarness(): Harness {
  const bus = new InProcessBus();
  const made: Transport[] = [];
  return {
    name: 'in-process',
    unavailable: null,
    make: async () => { const t = bus.transport(); made.push(t); return t; },
    topic: (name) => name,
    teardown: async () => { await Promise.allSettled(made.map((t) => t.close())); },
  };
}

export async function amqpHarness(): Promise<Harness> {
  const unavailable = await rabbitUnreachable();
  const run = new AmqpRun();
  return {
    name: 'amqp',
    unavailable,
    make: () => run.transport(),
    topic: (name) => run.topic(name),
    teardown: () => (unavailable ? Promise.resolve() : run.cleanup()),
  };
}

export { IN_CI };

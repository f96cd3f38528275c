/** Workflow engines over a real store, with a scripted healthy compute answering what they send. */
import { conductorConfig, type ConductorOverrides } from '../../src/conductor/conductor-config.js';
import { NO_LIMITS } from '../../src/core/admission.js';
import { WorkflowEngine, type Outgoing } from '../../src/conductor/workflow-engine.js';
import type { WorkflowEvent } from '../../src/core/migration-state.js';
import type { Store } from '../../src/store/store.js';
import { T0 } from './store-fixtures.js';

export interface Sent { readonly engine: string; readonly migrationId: number; readonly cmd: Outgoing }

export const engineClock = { now: () => T0 + 1000, sleep: async () => undefined };

/**
 * An engine that records what it would send instead of sending it. Without concurrency limits unless
 * asked: the claim and race suites start many migrations from one host at once on purpose.
 */
export function recordingEngine(name: string, store: Store, sent: Sent[], config: ConductorOverrides = { limits: NO_LIMITS }): WorkflowEngine {
  return new WorkflowEngine({ store, clock: engineClock, config: conductorConfig(config), dispatch: (migrationId, cmds) => {
    for (const cmd of cmds) sent.push({ engine: name, migrationId, cmd });
  } });
}

/** What a healthy compute answers to a command: the outcome of a call, or an ack then the outcome of an lcall. */
export function answers(c: Outgoing): WorkflowEvent[] {
  if (c.type === 'query') return [{ type: 'status', step: c.step, attempt: c.attempt, state: 'done', result: {} }];
  const done: WorkflowEvent = { type: 'done', step: c.step, attempt: c.attempt, result: { host: c.host } };
  return c.kind === 'call' ? [done] : [{ type: 'acked', step: c.step, attempt: c.attempt }, done];
}

/** Answers everything `engine` sent for migration `id` until it sends nothing more. */
export async function answerAll(engine: WorkflowEngine, sent: Sent[], id: number): Promise<void> {
  let seen = 0;
  for (let round = 0; round < 50; round++) {
    const mine = sent.filter((s) => s.migrationId === id);
    const fresh = mine.slice(seen);
    seen = mine.length;
    if (fresh.length === 0) return;
    for (const s of fresh) for (const e of answers(s.cmd)) await engine.apply(id, e);
  }
  throw new Error(`migration ${id} still sending after 50 rounds`);
}

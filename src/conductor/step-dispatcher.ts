/** Sends the workflow's outgoing commands to computes and turns every answer (or silence) into an event. */
import { toErrorBody } from '../core/errors.js';
import type { WorkflowEvent } from '../core/migration-state.js';
import { compareVersions } from '../core/version.js';
import { COMPUTE_RPC_VERSION, ComputeMethod, type StepStatusReply } from '../rpc/compute-api.js';
import { isTimeout, type RpcClient } from '../rpc/rpc-client.js';
import { computeTopic } from '../rpc/transport.js';
import type { Outgoing } from './workflow-engine.js';

export interface DispatcherDeps {
  readonly rpc: RpcClient;
  /** The version a host reported; the conductor never sends it a newer one. */
  readonly hostVersion: (host: string) => Promise<string | undefined>;
  readonly apply: (migrationId: number, e: WorkflowEvent) => Promise<unknown>;
  readonly log: (msg: string, extra?: Record<string, unknown>) => void;
}

export class StepDispatcher {
  readonly #d: DispatcherDeps;

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
  }

  dispatch(migrationId: number, cmds: readonly Outgoing[]): void {
    for (const c of cmds) {
      void this.#run(migrationId, c).catch((e: unknown) => this.#d.log(`migration ${migrationId}: handling ${c.step} failed: ${String(e)}`));
    }
  }

  /** The highest version both sides speak (same major); Baton's compute API is 1.x throughout. */
  async versionFor(host: string): Promise<string> {
    const reported = await this.#d.hostVersion(host);
    if (!reported || reported.split('.')[0] !== COMPUTE_RPC_VERSION.split('.')[0]) return COMPUTE_RPC_VERSION;
    return compareVersions(reported, COMPUTE_RPC_VERSION) < 0 ? reported : COMPUTE_RPC_VERSION;
  }

  async #run(id: number, c: Outgoing): Promise<void> {
    const topic = computeTopic(c.host);
    const version = await this.versionFor(c.host);
    if (c.type === 'query') {
      let ev: WorkflowEvent;
      try {
        const r = await this.#d.rpc.call<StepStatusReply>(topic, ComputeMethod.GET_STEP_STATUS,
          { migrationId: id, step: c.step, attempt: c.attempt }, { version, timeoutMs: c.timeoutMs });
        ev = { type: 'status', step: c.step, attempt: c.attempt, state: r.state, ...(r.result ? { result: r.result } : {}), ...(r.error ? { error: r.error } : {}) };
      } catch (e) {
        ev = { type: 'query-failed', step: c.step, attempt: c.attempt, error: toErrorBody(e) };
      }
      await this.#d.apply(id, ev);
      return;
    }
    const args = { ...c.args, migrationId: id, attempt: c.attempt };
    let ev: WorkflowEvent;
    try {
      if (c.kind === 'call') {
        const result = await this.#d.rpc.call<Record<string, unknown>>(topic, c.step, args, { version, timeoutMs: c.timeoutMs });
        ev = { type: 'done', step: c.step, attempt: c.attempt, result: result ?? {} };
      } else {
        await this.#d.rpc.lcall(topic, c.step, args, { version, timeoutMs: c.timeoutMs });
        ev = { type: 'acked', step: c.step, attempt: c.attempt };
      }
    } catch (e) {
      ev = isTimeout(e) ? { type: 'timeout', step: c.step, attempt: c.attempt } : { type: 'failed', step: c.step, attempt: c.attempt, error: toErrorBody(e) };
    }
    await this.#d.apply(id, ev);
  }
}

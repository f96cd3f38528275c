/**
 * The compute agent of one host: serves compute.<host>, talks to the conductor only, never to another
 * compute and never to the store. Checks and pre_live_migration are plain calls; live_migration,
 * post and rollback are the spec's lightweight calls: accepted, acknowledged at once, done in the
 * background, with the outcome cast back to the conductor.
 */
import { Type } from '@sinclair/typebox';
import { fromBody } from '../core/errors.js';
import type { AllocationRatios } from '../core/model.js';
import type { Progress } from '../core/migration-state.js';
import { ALL_STEPS, STEP_KIND } from '../core/migration-steps.js';
import type { Clock } from '../core/ports.js';
import { COMPUTE_RPC_VERSION, ComputeMethod, StepStatusArgs } from '../rpc/compute-api.js';
import { CONDUCTOR_RPC_VERSION, ConductorMethod } from '../rpc/conductor-api.js';
import { RpcClient } from '../rpc/rpc-client.js';
import { GuestSpecSchema, stepArgs } from '../rpc/rpc-schemas.js';
import { method, serveRpc, type MethodTable } from '../rpc/rpc-server.js';
import { CONDUCTOR_TOPIC, computeTopic, type Subscription, type Transport } from '../rpc/transport.js';
import type { HypervisorDriver } from './driver-port.js';
import { stepWork } from './compute-handlers.js';
import { StepJobs } from './step-jobs.js';

export interface ComputeAgentConfig {
  readonly host: string;
  readonly hostIp: string;
  readonly driver: HypervisorDriver;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly ratios: AllocationRatios;
  /** Nova's report_interval. */
  readonly reportIntervalMs: number;
  /** Shortest gap between two progress reports of one migration. */
  readonly progressIntervalMs: number;
  /** Version this agent advertises (defaults to the code's; tests lower it to act as an old compute). */
  readonly rpcVersion?: string;
  readonly log?: (msg: string, extra?: Record<string, unknown>) => void;
}

export class ComputeAgent {
  readonly #cfg: ComputeAgentConfig;
  readonly #rpc: RpcClient;
  readonly #jobs = new StepJobs();
  readonly #startedAt: number;
  #sub: Subscription | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(cfg: ComputeAgentConfig) {
    this.#cfg = cfg;
    this.#rpc = new RpcClient(cfg.transport, { role: 'compute', host: cfg.host });
    this.#startedAt = cfg.clock.now();
  }

  get host(): string {
    return this.#cfg.host;
  }

  async start(): Promise<void> {
    this.#sub = await serveRpc(this.#cfg.transport, computeTopic(this.#cfg.host), {
      version: this.#cfg.rpcVersion ?? COMPUTE_RPC_VERSION,
      methods: this.#methods(),
      onBadMessage: (problem) => this.#cfg.log?.(`rejected RPC message: ${problem}`),
      onCastError: (m, err) => this.#cfg.log?.(`handling ${m} failed: ${err}`),
    });
    await this.reportState();
    this.#timer = setInterval(() => void this.reportState().catch((e: unknown) => this.#cfg.log?.(`state report failed: ${String(e)}`)),
      this.#cfg.reportIntervalMs);
    this.#timer.unref();
  }

  /** Heartbeat with this host's resources; the conductor stamps the time with its own clock. */
  async reportState(): Promise<void> {
    const r = await this.#cfg.driver.hostResources();
    await this.#rpc.cast(CONDUCTOR_TOPIC, ConductorMethod.SERVICE_REPORT, {
      host: this.#cfg.host, hostIp: this.#cfg.hostIp, rpcVersion: this.#cfg.rpcVersion ?? COMPUTE_RPC_VERSION,
      startedAt: this.#startedAt, resources: { ...r, cpuFeatures: [...r.cpuFeatures] }, ratios: { ...this.#cfg.ratios },
    }, { version: CONDUCTOR_RPC_VERSION });
  }

  /** Stops taking requests, then lets the work in progress finish and report. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#sub?.close();
    await this.#jobs.drain();
  }

  #methods(): MethodTable {
    const table: MethodTable = {};
    for (const step of ALL_STEPS) {
      table[step] = method({ kind: STEP_KIND[step], since: '1.0', args: stepArgs({}),
        handle: (a) => this.#step(step, a.migrationId, a.attempt, a as unknown as Record<string, unknown>) });
    }
    table[ComputeMethod.GET_STEP_STATUS] = method({ kind: 'call', since: '1.0', args: StepStatusArgs,
      handle: async (a) => this.#jobs.status(a.migrationId, a.step) });
    table[ComputeMethod.SPAWN] = method({ kind: 'call', since: '1.0', args: Type.Object({ guest: GuestSpecSchema }),
      handle: async (a) => { await this.#cfg.driver.spawn(a.guest); return { host: this.#cfg.host }; } });
    table[ComputeMethod.DESTROY] = method({ kind: 'call', since: '1.0', args: Type.Object({ uuid: Type.String({ minLength: 1 }) }),
      handle: async (a) => { await this.#cfg.driver.destroy(a.uuid); return {}; } });
    table[ComputeMethod.LIST_GUESTS] = method({ kind: 'call', since: '1.0', args: Type.Object({}),
      handle: async () => ({ guests: await this.#cfg.driver.listGuests() }) });
    return table;
  }

  async #step(step: (typeof ALL_STEPS)[number], migrationId: number, attempt: number, args: Record<string, unknown>): Promise<unknown> {
    const work = stepWork(this.#cfg.driver, step, {
      migrationId, instance: args['instance'] as never, args, onProgress: this.#progressReporter(migrationId, attempt),
    });
    const finishedBefore = this.#jobs.status(migrationId, step).state !== 'running';
    const { promise, fresh } = this.#jobs.run(migrationId, step, attempt, work);
    if (STEP_KIND[step] === 'call') {
      const outcome = await promise;
      if (!outcome.ok) throw fromBody(outcome.error);
      return outcome.result;
    }
    // Lightweight call: acknowledge now. A repeated request for a job that already finished re-reports
    // its outcome, in case the first report was lost; one that is still running reports once, later.
    if (fresh || finishedBefore) void promise.then((o) => this.#report(migrationId, step, attempt, o));
    return { accepted: true, host: this.#cfg.host };
  }

  async #report(migrationId: number, step: string, attempt: number, o: { ok: boolean; result?: Record<string, unknown>; error?: unknown }): Promise<void> {
    try {
      await this.#rpc.cast(CONDUCTOR_TOPIC, ConductorMethod.STEP_RESULT, { migrationId, step, attempt, ...o }, { version: CONDUCTOR_RPC_VERSION });
    } catch (e) {
      // The conductor will ask (get_step_status) when its deadline passes.
      this.#cfg.log?.(`could not report ${step} of migration ${migrationId}: ${String(e)}`);
    }
  }

  #progressReporter(migrationId: number, attempt: number): (p: Progress) => void {
    let last = this.#cfg.clock.now();
    return (p) => {
      const now = this.#cfg.clock.now();
      if (!p.postcopy && now - last < this.#cfg.progressIntervalMs) return;
      last = now;
      void this.#rpc.cast(CONDUCTOR_TOPIC, ConductorMethod.PROGRESS, { migrationId, attempt, progress: p }, { version: CONDUCTOR_RPC_VERSION })
        .catch((e: unknown) => this.#cfg.log?.(`progress report failed: ${String(e)}`));
    };
  }
}

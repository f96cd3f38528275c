/**
 * The compute agent of one host: serves compute.<host>, talks to the conductor only, never to another
 * compute and never to the store. Checks and pre_live_migration are plain calls; live_migration,
 * post and rollback are the spec's lightweight calls: recorded in the host's step journal, acknowledged,
 * done in the background, with the outcome cast back to the conductor. A restarted agent resumes the
 * steps its journal still shows running before it serves any request.
 */
import { Type } from '@sinclair/typebox';
import { BatonError, fromBody } from '../core/errors.js';
import type { AllocationRatios } from '../core/model.js';
import type { Progress } from '../core/migration-state.js';
import { ALL_STEPS, isStep, Step, STEP_KIND } from '../core/migration-steps.js';
import type { Clock } from '../core/ports.js';
import { COMPUTE_RPC_VERSION, ComputeMethod, StepStatusArgs, type StepStatusReply } from '../rpc/compute-api.js';
import { CONDUCTOR_RPC_VERSION, ConductorMethod } from '../rpc/conductor-api.js';
import { RpcClient } from '../rpc/rpc-client.js';
import { GuestSpecSchema } from '../rpc/rpc-schemas.js';
import { method, serveRpc, type MethodTable } from '../rpc/rpc-server.js';
import { CONDUCTOR_TOPIC, computeTopic, type Subscription, type Transport } from '../rpc/transport.js';
import type { HypervisorDriver } from './driver-port.js';
import { stepWork } from './compute-handlers.js';
import { stepArgsSchema, toStepRequest } from './step-args.js';
import type { Outcome, StepJournal, StepKey } from './step-journal.js';
import { StepRunner, type Work } from './step-runner.js';

/** How long a finished journal entry is kept when the conductor never says the migration is terminal. */
export const DEFAULT_JOURNAL_TTL_MS = 24 * 60 * 60 * 1000;

export interface ComputeAgentConfig {
  readonly host: string;
  readonly hostIp: string;
  readonly driver: HypervisorDriver;
  readonly transport: Transport;
  readonly clock: Clock;
  /** This host's step journal, opened by the composition root (a file in the state dir, or in memory). */
  readonly journal: StepJournal;
  /** Finished journal entries older than this are pruned (default 24 h), swept with each heartbeat. */
  readonly journalTtlMs?: number;
  readonly ratios: AllocationRatios;
  /** Nova's report_interval. */
  readonly reportIntervalMs: number;
  /** Shortest gap between two progress reports of one migration. */
  readonly progressIntervalMs: number;
  /** Version this agent advertises (defaults to the code's; tests lower it to act as an old compute). */
  readonly rpcVersion?: string;
  readonly log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** Routine events an operator may follow (each step execution); `baton compute` logs them at info level. */
  readonly info?: (msg: string, extra?: Record<string, unknown>) => void;
}

export class ComputeAgent {
  readonly #cfg: ComputeAgentConfig;
  readonly #rpc: RpcClient;
  readonly #runner: StepRunner;
  readonly #startedAt: number;
  #sub: Subscription | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(cfg: ComputeAgentConfig) {
    this.#cfg = cfg;
    this.#rpc = new RpcClient(cfg.transport, { role: 'compute', host: cfg.host });
    this.#startedAt = cfg.clock.now();
    this.#runner = new StepRunner({
      journal: cfg.journal, clock: cfg.clock, workFor: (step, args) => this.#work(step, args),
      report: (key, o) => void this.#report(key, o), log: (m) => this.#cfg.log?.(m),
      onExecute: (k, how) => this.#cfg.info?.(`executing ${k.step} of migration ${k.migrationId} (attempt ${k.attempt}, ${how})`,
        { migrationId: k.migrationId, step: k.step, attempt: k.attempt, execution: how }),
    });
  }

  get host(): string {
    return this.#cfg.host;
  }

  /** Steps with work in progress on this host (tests and operators). */
  get stepsInFlight(): number {
    return this.#runner.inFlight;
  }

  async start(): Promise<void> {
    // Before serving: a redelivered request must find the resumed work to join.
    const resumed = this.#runner.resume();
    if (resumed > 0) this.#cfg.log?.(`resumed ${resumed} step(s) from the journal`);
    this.sweepJournal();
    this.#sub = await serveRpc(this.#cfg.transport, computeTopic(this.#cfg.host), {
      version: this.#cfg.rpcVersion ?? COMPUTE_RPC_VERSION,
      methods: this.#methods(),
      onBadMessage: (problem) => this.#cfg.log?.(`rejected RPC message: ${problem}`),
      onCastError: (m, err) => this.#cfg.log?.(`handling ${m} failed: ${err}`),
    });
    await this.reportState();
    this.#timer = setInterval(() => this.#tick(), this.#cfg.reportIntervalMs);
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

  /** Prunes finished journal entries older than the TTL, by the agent's clock; returns how many went. */
  sweepJournal(): number {
    const ttl = this.#cfg.journalTtlMs ?? DEFAULT_JOURNAL_TTL_MS;
    return this.#cfg.journal.pruneBefore(this.#cfg.clock.now() - ttl);
  }

  /** Stops taking requests, then lets the work in progress finish and report. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#sub?.close();
    await this.#runner.drain();
  }

  #tick(): void {
    void this.reportState().catch((e: unknown) => this.#cfg.log?.(`state report failed: ${String(e)}`));
    try {
      this.sweepJournal();
    } catch (e) {
      this.#cfg.log?.(`journal sweep failed: ${String(e)}`);
    }
  }

  #methods(): MethodTable {
    const table: MethodTable = {};
    for (const step of ALL_STEPS) {
      table[step] = method({ kind: STEP_KIND[step], since: '1.0', args: stepArgsSchema(step), handle: (a) => this.#step(step, a) });
    }
    table[ComputeMethod.GET_STEP_STATUS] = method({ kind: 'call', since: '1.0', args: StepStatusArgs,
      handle: async (a): Promise<StepStatusReply> => {
        if (!isStep(a.step)) throw new BatonError('InvalidRequest', `get_step_status: unknown step "${a.step}"`, { field: 'step' });
        return this.#runner.status({ migrationId: a.migrationId, step: a.step, attempt: a.attempt });
      } });
    table[ComputeMethod.FORGET_MIGRATION] = method({ kind: 'cast', since: '1.0', args: Type.Object({ migrationId: Type.Integer({ minimum: 1 }) }),
      handle: async (a) => ({ forgotten: this.#cfg.journal.forget(a.migrationId) }) });
    table[ComputeMethod.SPAWN] = method({ kind: 'call', since: '1.0', args: Type.Object({ guest: GuestSpecSchema }),
      handle: async (a) => { await this.#cfg.driver.spawn(a.guest); return { host: this.#cfg.host }; } });
    table[ComputeMethod.DESTROY] = method({ kind: 'call', since: '1.0', args: Type.Object({ uuid: Type.String({ minLength: 1 }) }),
      handle: async (a) => { await this.#cfg.driver.destroy(a.uuid); return {}; } });
    table[ComputeMethod.LIST_GUESTS] = method({ kind: 'call', since: '1.0', args: Type.Object({}),
      handle: async () => ({ guests: await this.#cfg.driver.listGuests() }) });
    return table;
  }

  async #step(step: Step, raw: unknown): Promise<unknown> {
    const req = toStepRequest(step, raw);
    const key: StepKey = { migrationId: req.args.migrationId, step, attempt: req.args.attempt };
    // Durable before anything is answered: submit returns once the journal has the request.
    const outcome = this.#runner.submit(key, req.args);
    if (STEP_KIND[step] === 'lcall') return { accepted: true, host: this.#cfg.host };
    const o = await outcome;
    if (!o.ok) throw fromBody(o.error);
    return o.result;
  }

  #work(step: Step, args: Record<string, unknown>): Work {
    const req = toStepRequest(step, args);
    const { migrationId, attempt } = req.args;
    const journal = this.#cfg.journal;
    return stepWork(this.#cfg.driver, req, {
      host: this.#cfg.host,
      onProgress: this.#progressReporter(migrationId, attempt),
      abortRequested: () => journal.isAborted(migrationId),
      recordAbort: () => journal.markAborted(migrationId, this.#cfg.clock.now()),
      copyState: () => journal.latest(migrationId, Step.MIGRATE)?.state ?? null,
    });
  }

  async #report(key: StepKey, o: Outcome): Promise<void> {
    try {
      await this.#rpc.cast(CONDUCTOR_TOPIC, ConductorMethod.STEP_RESULT, { ...key, ...o }, { version: CONDUCTOR_RPC_VERSION });
    } catch (e) {
      // The conductor will ask (get_step_status) when its deadline passes.
      this.#cfg.log?.(`could not report ${key.step} of migration ${key.migrationId}: ${String(e)}`);
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

/**
 * The conductor: serves the "conductor" topic (requests from the API, reports from computes), owns
 * every migration workflow through the engine, fires deadlines, and on start resumes every migration
 * in flight from the store. Several conductors can run at once; any of them can take any event.
 */
import { Type } from '@sinclair/typebox';
import type { AuditPass } from '../core/audit-report.js';
import type { WorkflowEvent, WorkflowState } from '../core/migration-state.js';
import { isStep } from '../core/migration-steps.js';
import type { Clock, IdGenerator } from '../core/ports.js';
import {
  CONDUCTOR_RPC_VERSION, ConductorMethod, InstanceIdArgs, MigrationIdArgs, ProgressArgs, ServiceReportArgs, StepResultArgs,
} from '../rpc/conductor-api.js';
import { RpcClient } from '../rpc/rpc-client.js';
import { method, rejectMessage, serveRpc } from '../rpc/rpc-server.js';
import { ComputeMethod } from '../rpc/compute-api.js';
import { CONDUCTOR_TOPIC, computeTopic, type Subscription, type Transport } from '../rpc/transport.js';
import { nameUuid } from '../runtime/name-uuid.js';
import { randomIds } from '../runtime/system-clock.js';
import type { Store } from '../store/store.js';
import { wakeQueueNow } from './admission-queue.js';
import type { ConductorConfig } from './conductor-config.js';
import { DrainRunner } from './drain-runner.js';
import { buildInstance, deleteInstance, rescanInstances, type BuilderDeps } from './instance-builder.js';
import { Reconciler } from './reconciler.js';
import { StepDispatcher } from './step-dispatcher.js';
import { WorkflowEngine } from './workflow-engine.js';

/** How often (in ticks) a conductor wakes the queue heads that can go, whatever woke them or not. */
const QUEUE_LOOK_TICKS = 4;

export interface ConductorDeps {
  readonly name: string;
  readonly store: Store;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly config: ConductorConfig;
  readonly log: (msg: string, extra?: Record<string, unknown>) => void;
  /** Uuids of the migrations drains record; random by default. */
  readonly ids?: IdGenerator;
  /** Told when a migration this conductor drove reaches a terminal status (after commit). */
  readonly onTerminal?: (migrationId: number, state: WorkflowState) => void;
}

export class Conductor {
  readonly engine: WorkflowEngine;
  readonly #d: ConductorDeps;
  readonly #rpc: RpcClient;
  readonly #dispatcher: StepDispatcher;
  readonly #versions = new Map<string, string>();
  readonly #builder: BuilderDeps;
  readonly #reconciler: Reconciler;
  readonly #drains: DrainRunner;
  #sub: Subscription | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Only the due query is exclusive; the migrations it returns run on their own. */
  #ticking = false;
  /** When the last rescan of building and deleting instances began (clock time); null before the first. */
  #lastRescan: number | null = null;
  /** Migrations whose tick is being applied by this conductor. */
  readonly #inFlight = new Set<number>();
  /** Once stopped, answers to what this conductor sent are dropped: whoever takes over asks the computes again. */
  #stopped = false;
  /** Ticks so far: every QUEUE_LOOK_TICKS-th also looks at the queue heads. */
  #ticks = 0;

  constructor(d: ConductorDeps) {
    this.#d = d;
    this.#rpc = new RpcClient(d.transport, { role: 'conductor', host: d.name }, d.config.callTimeoutMs);
    this.#dispatcher = new StepDispatcher({ rpc: this.#rpc, hostVersion: (h) => this.#hostVersion(h),
      apply: async (id, e) => (this.#stopped ? undefined : this.engine.apply(id, e)), log: d.log });
    this.engine = new WorkflowEngine({ store: d.store, clock: d.clock, config: d.config,
      dispatch: (id, cmds) => this.#dispatcher.dispatch(id, cmds), log: d.log, onTerminal: (id, s) => this.#onTerminal(id, s),
      // A queued migration this conductor woke goes now, not at the next tick (any other conductor's tick would take it too).
      onWoken: (ids) => { for (const w of ids) if (!this.#inFlight.has(w) && !this.#stopped) void this.#fire(w); } });
    this.#builder = { store: d.store, rpc: this.#rpc, clock: d.clock, serviceDownTimeMs: d.config.serviceDownTimeMs,
      callTimeoutMs: d.config.callTimeoutMs, versionFor: (h) => this.#dispatcher.versionFor(h), log: d.log, busy: new Set() };
    this.#reconciler = new Reconciler({ name: d.name, store: d.store, rpc: this.#rpc, clock: d.clock, config: d.config,
      versionFor: (h) => this.#dispatcher.versionFor(h), apply: (id, e) => this.engine.apply(id, e), log: d.log });
    this.#drains = new DrainRunner({ name: d.name, store: d.store, clock: d.clock, ids: d.ids ?? randomIds, config: d.config,
      apply: (id, e) => this.engine.apply(id, e), log: d.log });
  }

  /** Runs a reconcile/audit pass now (after any pass in progress) and returns it. */
  runAudit(): Promise<AuditPass> {
    return this.#reconciler.run('requested');
  }

  /**
   * After the commit that made a migration terminal: every compute that took part may prune what it journaled
   * for it (best effort; a compute that misses the cast prunes by its own TTL).
   */
  #onTerminal(id: number, s: WorkflowState): void {
    const hosts = new Set([s.source.host, ...(s.dest ? [s.dest.host] : []), ...s.excluded]);
    for (const host of hosts) {
      void this.#dispatcher.versionFor(host)
        .then((version) => this.#rpc.cast(computeTopic(host), ComputeMethod.FORGET_MIGRATION, { migrationId: id }, { version }))
        .catch((e: unknown) => this.#d.log(`migration ${id}: forget_migration to ${host} failed: ${String(e)}`));
    }
    this.#d.onTerminal?.(id, s);
  }

  /** Versions come with heartbeats; another conductor may have consumed this host's, so fall back to the store. */
  async #hostVersion(host: string): Promise<string | undefined> {
    const known = this.#versions.get(host);
    if (known !== undefined) return known;
    const stored = (await this.#d.store.repo.getService(host))?.rpcVersion;
    if (stored !== undefined) this.#versions.set(host, stored);
    return stored;
  }

  async start(): Promise<void> {
    for (const s of await this.#d.store.repo.listServices()) this.#versions.set(s.host, s.rpcVersion);
    this.#sub = await serveRpc(this.#d.transport, CONDUCTOR_TOPIC, { version: CONDUCTOR_RPC_VERSION, methods: this.#methods(),
      onBadMessage: (problem) => this.#d.log(`rejected RPC message: ${problem}`),
      onCastError: (m, err) => this.#d.log(`handling ${m} failed: ${err}`) });
    await this.recover();
    void this.#rescanIfDue();
    this.#timer = setInterval(() => void this.tick(), this.#d.config.tickMs);
    this.#timer.unref();
    await this.#reconciler.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#reconciler.stop();
    await this.#sub?.close();
  }

  /** Resumes every migration in flight: each step whose outcome is unknown is asked about. */
  async recover(): Promise<void> {
    for (const id of await this.#d.store.repo.activeMigrations()) await this.#applyLogged(id, { type: 'recover' });
  }

  /**
   * Fires what is due: outcome deadlines, retries, lost starts. Each due migration runs on its own: the
   * next tick does not wait for this one's, and skips only the migrations still in flight here, so one
   * migration stuck on a lock (held by a frozen conductor) delays nobody else. Resolves once the
   * migrations this tick started have settled.
   */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    let due: number[];
    try {
      void this.#rescanIfDue();
      void this.#drains.tick();
      if (this.#ticks++ % QUEUE_LOOK_TICKS === 0) void this.#lookAtQueue();
      due = await this.#d.store.repo.dueMigrations(this.#d.clock.now(), 200, [...this.#inFlight]);
    } catch (e) {
      this.#d.log(`tick failed: ${String(e)}`);
      return;
    } finally {
      this.#ticking = false;
    }
    await Promise.all(due.filter((id) => !this.#inFlight.has(id)).map((id) => this.#fire(id)));
  }

  /** The periodic look at the queue heads that bounds the delay of a wake-up missed in a race (see admission-queue.ts). */
  async #lookAtQueue(): Promise<void> {
    try {
      const woken = await wakeQueueNow(this.#d.store, this.#d.clock.now(), this.#d.config.limits);
      for (const w of woken) if (!this.#inFlight.has(w)) void this.#fire(w);
    } catch (e) {
      this.#d.log(`queue look failed: ${String(e)}`);
    }
  }

  async #fire(id: number): Promise<void> {
    this.#inFlight.add(id);
    try {
      await this.#applyLogged(id, { type: 'tick' });
    } finally {
      this.#inFlight.delete(id);
    }
  }

  /**
   * Finishes builds and deletes left half done (see rescanInstances): on start, then once per startGraceMs.
   * Resolves when the retries it started have finished.
   */
  async rescanInstances(): Promise<void> {
    this.#lastRescan = this.#d.clock.now();
    try {
      await rescanInstances(this.#builder, this.#d.config.startGraceMs);
    } catch (e) {
      this.#d.log(`instance rescan failed: ${String(e)}`);
    }
  }

  async #rescanIfDue(): Promise<void> {
    if (this.#stopped || (this.#lastRescan !== null && this.#d.clock.now() - this.#lastRescan < this.#d.config.startGraceMs)) return;
    await this.rescanInstances();
  }

  async #applyLogged(id: number, e: WorkflowEvent): Promise<void> {
    try {
      await this.engine.apply(id, e);
    } catch (err) {
      this.#d.log(`migration ${id}: applying ${e.type} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * A step's outcome counts only from the host the step was sent to: a result for an unknown migration, or one
   * sent in the name of another host, is refused (and dead-lettered by the transport) before it can move a workflow.
   */
  async #checkReporter(migrationId: number, step: string, attempt: number, from: string): Promise<void> {
    const repo = this.#d.store.repo;
    if (!(await repo.getMigration(migrationId))) throw rejectMessage(`step_result for unknown migration ${migrationId} from ${from}`);
    const sent = (await repo.listSteps(migrationId)).find((s) => s.step === step && s.attempt === attempt);
    if (sent && sent.host !== from) {
      throw rejectMessage(`forged step_result: ${step} attempt ${attempt} of migration ${migrationId} runs on ${sent.host}, the report came from ${from}`);
    }
  }

  #methods() {
    const apply = (id: number, e: WorkflowEvent) => this.engine.apply(id, e).then(() => null);
    return {
      [ConductorMethod.LIVE_MIGRATE]: method({ kind: 'cast', since: '1.0', args: MigrationIdArgs, handle: (a) => apply(a.migrationId, { type: 'start' }) }),
      [ConductorMethod.ABORT]: method({ kind: 'cast', since: '1.0', args: MigrationIdArgs, handle: (a) => apply(a.migrationId, { type: 'abort' }) }),
      [ConductorMethod.FORCE_COMPLETE]: method({ kind: 'cast', since: '1.0', args: MigrationIdArgs,
        handle: (a) => apply(a.migrationId, { type: 'force-complete' }) }),
      [ConductorMethod.STEP_RESULT]: method({ kind: 'cast', since: '1.0', args: StepResultArgs, handle: async (a, msg) => {
        if (!isStep(a.step)) throw rejectMessage(`step_result names an unknown step "${a.step}"`);
        await this.#checkReporter(a.migrationId, a.step, a.attempt, msg.from.host);
        return apply(a.migrationId, a.ok ? { type: 'done', step: a.step, attempt: a.attempt, ...(a.result ? { result: a.result } : {}) }
          : { type: 'failed', step: a.step, attempt: a.attempt, error: a.error ?? { code: 'MigrationError', message: `${a.step} failed` } });
      } }),
      [ConductorMethod.PROGRESS]: method({ kind: 'cast', since: '1.0', args: ProgressArgs,
        handle: (a) => apply(a.migrationId, { type: 'progress', attempt: a.attempt, progress: a.progress }) }),
      [ConductorMethod.SERVICE_REPORT]: method({ kind: 'cast', since: '1.0', args: ServiceReportArgs, handle: async (a) => {
        this.#versions.set(a.host, a.rpcVersion);
        await this.#d.store.repo.upsertService({ host: a.host, hypervisorId: nameUuid('hypervisor', a.host), ...a.resources, ratios: a.ratios,
          rpcVersion: a.rpcVersion, lastHeartbeat: this.#d.clock.now(), disabled: false, disabledReason: null, hostIp: a.hostIp,
          startedAt: a.startedAt });
        this.#reconciler.noteBoot(a.host, a.startedAt);
        return null;
      } }),
      [ConductorMethod.BUILD_INSTANCE]: method({ kind: 'cast', since: '1.0',
        args: Type.Object({ instanceUuid: Type.String({ minLength: 1 }), requestedHost: Type.Union([Type.String(), Type.Null()]) }),
        handle: (a) => buildInstance(this.#builder, a.instanceUuid, a.requestedHost) }),
      [ConductorMethod.DELETE_INSTANCE]: method({ kind: 'cast', since: '1.0', args: InstanceIdArgs,
        handle: (a) => deleteInstance(this.#builder, a.instanceUuid) }),
      [ConductorMethod.RUN_AUDIT]: method({ kind: 'call', since: '1.0', args: Type.Object({}), handle: async () => {
        const pass = await this.runAudit();
        return { checkedAt: pass.checkedAt, anomalies: pass.anomalies.length };
      } }),
    };
  }
}

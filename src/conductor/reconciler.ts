/**
 * The reconciler: compares what every compute's hypervisor runs with what the store records, repairs
 * what the facts settle, and records the rest as anomalies (the audit). It runs on a timer, when a
 * compute reports a new boot, and on request (run_audit). Hosts are listed one after the other while
 * migrations move, so a finding counts only if a second look (the hosts involved listed again, the
 * store read again) finds it too.
 */
import { auditFindings, confirmedFindings, involvedHosts, isEmpty, type AuditMigration, type AuditSnapshot } from '../core/audit-check.js';
import type { AuditPass, UnreachableHost } from '../core/audit-report.js';
import type { WorkflowEvent } from '../core/migration-state.js';
import { MigrationStatus, TERMINAL_STATUSES } from '../core/migration-status.js';
import type { Clock } from '../core/ports.js';
import { isServiceUp } from '../core/prechecks.js';
import type { RpcClient } from '../rpc/rpc-client.js';
import type { MigrationRow, Store } from '../store/store.js';
import { carryOut } from './audit-repairs.js';
import type { ConductorConfig } from './conductor-config.js';
import { surveyHosts, type Survey } from './guest-survey.js';

export interface ReconcilerDeps {
  readonly name: string;
  readonly store: Store;
  readonly rpc: RpcClient;
  readonly clock: Clock;
  readonly config: ConductorConfig;
  readonly versionFor: (host: string) => Promise<string>;
  readonly apply: (migrationId: number, e: WorkflowEvent) => Promise<unknown>;
  readonly log: (msg: string) => void;
}

const LIVE_STATUSES = Object.values(MigrationStatus).filter((s) => !TERMINAL_STATUSES.includes(s));
/** Repairs stay visible this long. */
const REPAIR_HISTORY_MS = 7 * 24 * 3_600_000;

function auditMigration(m: MigrationRow): AuditMigration {
  return { id: m.id, instanceUuid: m.instanceUuid, source: m.sourceCompute, dest: m.state.dest?.host ?? m.destCompute,
    switchedOver: m.state.switchedOver, nextWakeup: m.nextWakeup, updatedAt: m.updatedAt, waiting: m.admission === 'waiting' };
}

export class Reconciler {
  readonly #d: ReconcilerDeps;
  /** The compute start time last seen per host: a different one is a restart. */
  readonly #boots = new Map<string, number>();
  /** Passes of this conductor run one after the other. */
  #chain: Promise<unknown> = Promise.resolve();
  #busy = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
  }

  async start(): Promise<void> {
    for (const s of await this.#d.store.repo.listServices()) this.#boots.set(s.host, s.startedAt);
    this.#timer = setInterval(() => void this.#periodic(), this.#d.config.reconcileIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Runs a pass once any pass in progress has ended; resolves with what it found. */
  run(trigger: string): Promise<AuditPass> {
    const pass = this.#chain.then(() => this.#pass(trigger));
    this.#chain = pass.catch(() => undefined);
    return pass;
  }

  /** Told of each service report: a compute that started again may have lost or adopted guests. */
  noteBoot(host: string, startedAt: number): void {
    const known = this.#boots.get(host);
    this.#boots.set(host, startedAt);
    if (known === undefined || known === startedAt || this.#stopped) return;
    this.run(`${host} restarted`).catch((e: unknown) => this.#d.log(`audit after ${host} restarted failed: ${String(e)}`));
  }

  /** With several conductors, a pass another one finished recently makes this one unnecessary. */
  async #periodic(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    try {
      const last = await this.#d.store.repo.getAuditPass();
      if (last && this.#d.clock.now() - last.checkedAt < this.#d.config.reconcileIntervalMs / 2) return;
      await this.run('periodic');
    } catch (e) {
      this.#d.log(`periodic audit failed: ${String(e)}`);
    }
  }

  async #pass(trigger: string): Promise<AuditPass> {
    this.#busy = true;
    try {
      const started = this.#d.clock.now();
      const { up, down } = await this.#hosts();
      const first = await this.#snapshot(up);
      const bounds = this.#d.config;
      let findings = auditFindings(first.snapshot, bounds);
      let survey = first.survey;
      if (!isEmpty(findings)) {
        const asked = new Set(up);
        const again = await this.#snapshot(involvedHosts(findings, first.snapshot).filter((h) => asked.has(h)), survey);
        findings = confirmedFindings(findings, auditFindings(again.snapshot, bounds));
        survey = again.survey;
      }
      const failures = this.#stopped ? [] : await carryOut(this.#repairDeps(), findings.actions);
      const pass: AuditPass = { checkedAt: this.#d.clock.now(), conductor: this.#d.name, durationMs: this.#d.clock.now() - started,
        hostsChecked: [...survey.guests.keys()].sort(), unreachable: [...down, ...survey.unreachable],
        anomalies: [...findings.anomalies, ...failures] };
      await this.#d.store.transaction((tx) => tx.saveAuditPass(pass));
      await this.#d.store.repo.pruneAuditRepairs(pass.checkedAt - REPAIR_HISTORY_MS);
      if (pass.anomalies.length > 0) this.#d.log(`audit (${trigger}): ${pass.anomalies.map((a) => a.message).join(' | ')}`);
      return pass;
    } finally {
      this.#busy = false;
    }
  }

  async #hosts(): Promise<{ up: string[]; down: UnreachableHost[] }> {
    const now = this.#d.clock.now();
    const up: string[] = [];
    const down: UnreachableHost[] = [];
    for (const s of await this.#d.store.repo.listServices()) {
      if (isServiceUp(s, now, this.#d.config.serviceDownTimeMs)) up.push(s.host);
      else down.push({ host: s.host, reason: `down: no heartbeat for ${Math.round((now - s.lastHeartbeat) / 1000)} s` });
    }
    return { up, down };
  }

  /**
   * Lists the hosts, then reads the store. Claims are read before migrations, so that a claim seen always
   * has its migration seen; migrations that changed since the listing began mark their instance as in motion.
   */
  async #snapshot(hosts: readonly string[], base?: Survey): Promise<{ snapshot: AuditSnapshot; survey: Survey }> {
    const repo = this.#d.store.repo;
    const began = this.#d.clock.now();
    const before = await repo.listMigrations({ status: LIVE_STATUSES });
    const survey = await surveyHosts({ rpc: this.#d.rpc, versionFor: this.#d.versionFor, timeoutMs: this.#d.config.workflow.queryTimeoutMs },
      hosts, base);
    const claims = await repo.listClaims();
    const active = await repo.listMigrations({ status: LIVE_STATUSES });
    const changed = await repo.listMigrations({ changesSince: began });
    const instances = await repo.listInstances();
    const inMotion = new Set([...before, ...changed].map((m) => m.instanceUuid));
    return { survey, snapshot: { now: this.#d.clock.now(), guests: survey.guests, instances, activeMigrations: active.map(auditMigration),
      inMotion, claims } };
  }

  #repairDeps() {
    const d = this.#d;
    return { conductor: d.name, store: d.store, rpc: d.rpc, clock: d.clock, callTimeoutMs: d.config.callTimeoutMs, versionFor: d.versionFor,
      apply: d.apply, log: d.log };
  }
}

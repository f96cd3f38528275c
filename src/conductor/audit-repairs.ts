/**
 * Carries out the audit's confirmed actions. Each one checks the store again right before it acts (a
 * migration may have started since the snapshot) and is recorded as a repair; one that cannot be done
 * becomes a `repair-failed` anomaly instead of being retried blindly.
 */
import type { AuditAction } from '../core/audit-check.js';
import { AnomalyKind, RepairKind, Severity, type AuditAnomaly, type AuditRepair } from '../core/audit-report.js';
import { toErrorBody } from '../core/errors.js';
import type { WorkflowEvent } from '../core/migration-state.js';
import { isTerminal } from '../core/migration-status.js';
import type { Clock } from '../core/ports.js';
import { ComputeMethod } from '../rpc/compute-api.js';
import type { RpcClient } from '../rpc/rpc-client.js';
import { computeTopic } from '../rpc/transport.js';
import type { Repo, Store } from '../store/store.js';

export interface RepairDeps {
  readonly conductor: string;
  readonly store: Store;
  readonly rpc: RpcClient;
  readonly clock: Clock;
  readonly callTimeoutMs: number;
  readonly versionFor: (host: string) => Promise<string>;
  /** Feeds an event to a migration's workflow (the conductor's engine). */
  readonly apply: (migrationId: number, e: WorkflowEvent) => Promise<unknown>;
  readonly log: (msg: string) => void;
}

type Repair = Omit<AuditRepair, 'at' | 'conductor'>;

/** Runs the actions in order (a record is corrected before the copies it makes stray are destroyed); returns the failures. */
export async function carryOut(d: RepairDeps, actions: readonly AuditAction[]): Promise<AuditAnomaly[]> {
  const failures: AuditAnomaly[] = [];
  for (const a of actions) {
    try {
      const done = await act(d, a);
      if (done) d.log(`audit repair: ${done.message}`);
    } catch (e) {
      const body = toErrorBody(e);
      failures.push({ kind: AnomalyKind.REPAIR_FAILED, severity: Severity.CRITICAL, instanceUuid: a.instanceUuid,
        migrationId: 'migrationId' in a ? a.migrationId : null, hosts: hostsOf(a), message: `${a.kind} failed: ${body.code}: ${body.message}` });
    }
  }
  return failures;
}

function hostsOf(a: AuditAction): string[] {
  switch (a.kind) {
    case 'fix-host': return a.from ? [a.from, a.to] : [a.to];
    case 'destroy-stray': return [a.host, a.runsOn];
    default: return [a.host];
  }
}

function act(d: RepairDeps, a: AuditAction): Promise<AuditRepair | null> {
  switch (a.kind) {
    case 'fix-host': return d.store.transaction((tx) => fixHost(d, tx, a));
    case 'delete-claim': return d.store.transaction((tx) => deleteClaim(d, tx, a));
    case 'destroy-stray': return destroyStray(d, a);
    case 'switched-over': return switchedOver(d, a);
  }
}

async function record(d: RepairDeps, repo: Repo, r: Repair): Promise<AuditRepair> {
  const full: AuditRepair = { ...r, at: d.clock.now(), conductor: d.conductor };
  await repo.insertAuditRepair(full);
  return full;
}

async function hasLiveMigration(repo: Repo, instanceUuid: string): Promise<boolean> {
  return (await repo.listMigrations({ instanceUuid })).some((m) => !isTerminal(m.status));
}

/** Facts beat memory: the record follows the only running copy, in the transaction that records the repair. */
async function fixHost(d: RepairDeps, tx: Repo, a: Extract<AuditAction, { kind: 'fix-host' }>): Promise<AuditRepair | null> {
  const inst = await tx.getInstance(a.instanceUuid);
  if (!inst || inst.host !== a.from || (await hasLiveMigration(tx, a.instanceUuid))) return null;
  await tx.updateInstance(a.instanceUuid, { host: a.to, updatedAt: d.clock.now() });
  return record(d, tx, { kind: RepairKind.FIX_HOST, instanceUuid: a.instanceUuid, migrationId: null, host: a.to,
    message: `instance ${a.instanceUuid} (${inst.name}) runs only on ${a.to}; its record named ${a.from ?? 'no host'} and now names ${a.to}` });
}

async function deleteClaim(d: RepairDeps, tx: Repo, a: Extract<AuditAction, { kind: 'delete-claim' }>): Promise<AuditRepair | null> {
  const m = await tx.getMigration(a.migrationId);
  if (m && !isTerminal(m.status) && (await tx.getInstance(a.instanceUuid))) return null;
  await tx.deleteClaim(a.migrationId);
  return record(d, tx, { kind: RepairKind.DELETE_CLAIM, instanceUuid: a.instanceUuid, migrationId: a.migrationId, host: a.host,
    message: `released the claim of migration ${a.migrationId} on ${a.host}: ${a.reason}` });
}

/** Never the recorded host's copy, never while a migration of the instance is live. */
async function destroyStray(d: RepairDeps, a: Extract<AuditAction, { kind: 'destroy-stray' }>): Promise<AuditRepair | null> {
  const repo = d.store.repo;
  const inst = await repo.getInstance(a.instanceUuid);
  if (!inst || inst.host !== a.runsOn || a.host === a.runsOn || (await hasLiveMigration(repo, a.instanceUuid))) return null;
  await d.rpc.call(computeTopic(a.host), ComputeMethod.DESTROY, { uuid: a.instanceUuid },
    { version: await d.versionFor(a.host), timeoutMs: d.callTimeoutMs });
  const [last] = await repo.listMigrations({ instanceUuid: a.instanceUuid, host: a.host, limit: 1 });
  const why = last ? `; migration ${last.id} (${last.sourceCompute} -> ${last.destCompute ?? '?'}) ended ${last.status}` : '';
  return record(d, repo, { kind: RepairKind.DESTROY_STRAY, instanceUuid: a.instanceUuid, migrationId: last?.id ?? null, host: a.host,
    message: `destroyed the ${a.state} copy of instance ${a.instanceUuid} (${inst.name}) on ${a.host}: it runs on ${a.runsOn}${why}` });
}

/** The workflow decides what the fact means (flip the record, go to post); the audit only tells it. */
async function switchedOver(d: RepairDeps, a: Extract<AuditAction, { kind: 'switched-over' }>): Promise<AuditRepair | null> {
  await d.apply(a.migrationId, { type: 'switched-over', host: a.host, evidence: `audit: ${a.evidence}` });
  return record(d, d.store.repo, { kind: RepairKind.SWITCHED_OVER, instanceUuid: a.instanceUuid, migrationId: a.migrationId, host: a.host,
    message: `migration ${a.migrationId} had not switched over although ${a.evidence}; told its workflow the guest runs on ${a.host}` });
}

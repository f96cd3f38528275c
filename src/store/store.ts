/**
 * The Store port. One contract, two engines (SQLite, PostgreSQL). Everything a transaction does
 * commits or rolls back together; the conductor relies on that to write a workflow's new state,
 * its journal and its claims at once.
 */
import type { AuditPass, AuditRepair } from '../core/audit-report.js';
import type { ComputeHost, Claim, Flavor, HostUsage, Instance } from '../core/model.js';
import type { WorkflowState } from '../core/migration-state.js';
import type { MigrationProgress, MigrationStatus } from '../core/migration-status.js';
import type { StepStatus } from '../core/migration-steps.js';

export interface MigrationRow {
  readonly id: number;
  readonly uuid: string;
  readonly instanceUuid: string;
  readonly sourceCompute: string;
  readonly destCompute: string | null;
  readonly status: MigrationStatus;
  readonly migrationType: string;
  readonly progress: MigrationProgress;
  readonly state: WorkflowState;
  readonly version: number;
  readonly nextWakeup: number | null;
  readonly error: string | null;
  readonly flavorId: string;
  readonly projectId: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type NewMigration = Omit<MigrationRow, 'id' | 'version' | 'state' | 'progress' | 'error'>;

/** The fields a workflow step may change. */
export interface MigrationUpdate {
  readonly state: WorkflowState;
  readonly status: MigrationStatus;
  readonly destCompute: string | null;
  readonly progress: MigrationProgress;
  readonly nextWakeup: number | null;
  readonly error: string | null;
  readonly updatedAt: number;
}

export interface StepRow {
  readonly migrationId: number;
  readonly step: string;
  readonly attempt: number;
  readonly host: string;
  readonly status: StepStatus;
  readonly sentAt: number;
  readonly ackedAt: number | null;
  readonly doneAt: number | null;
  readonly failedAt: number | null;
  readonly error: string | null;
}

export interface MigrationFilter {
  readonly instanceUuid?: string;
  /** Matches source or destination. */
  readonly host?: string;
  readonly sourceCompute?: string;
  readonly status?: readonly string[];
  readonly migrationType?: string;
  readonly projectId?: string;
  readonly changesSince?: number;
  readonly changesBefore?: number;
  /** Only migrations with a lower id than this come back (newest first paging). */
  readonly beforeId?: number;
  readonly limit?: number;
}

export interface InstanceFilter {
  readonly host?: string;
  readonly name?: string;
  readonly projectId?: string;
}

export type InstancePatch = Partial<Pick<Instance, 'host' | 'vmState' | 'taskState' | 'powerState' | 'name'>> & { readonly updatedAt: number };

/** Thrown by saveMigration when another writer saved first; the caller reloads and re-applies. */
export class VersionConflict extends Error {
  constructor(readonly migrationId: number) {
    super(`migration ${migrationId} was changed concurrently`);
  }
}

export interface Repo {
  upsertService(h: ComputeHost): Promise<void>;
  getService(host: string): Promise<ComputeHost | undefined>;
  listServices(): Promise<ComputeHost[]>;
  setServiceDisabled(host: string, disabled: boolean, reason: string | null): Promise<boolean>;

  upsertFlavor(f: Flavor): Promise<void>;
  getFlavor(id: string): Promise<Flavor | undefined>;
  listFlavors(): Promise<Flavor[]>;

  insertInstance(i: Instance): Promise<void>;
  getInstance(uuid: string): Promise<Instance | undefined>;
  listInstances(f?: InstanceFilter): Promise<Instance[]>;
  updateInstance(uuid: string, patch: InstancePatch): Promise<void>;
  deleteInstance(uuid: string): Promise<void>;

  insertMigration(m: NewMigration, initial: (id: number) => WorkflowState): Promise<MigrationRow>;
  /** With forUpdate, the row stays locked until the transaction ends (PostgreSQL); SQLite serializes writers anyway. */
  getMigration(id: number, opts?: { forUpdate?: boolean }): Promise<MigrationRow | undefined>;
  getMigrationByUuid(uuid: string): Promise<MigrationRow | undefined>;
  /** Saves when the stored version is still `expectedVersion`, else throws VersionConflict. */
  saveMigration(id: number, expectedVersion: number, u: MigrationUpdate): Promise<void>;
  listMigrations(f?: MigrationFilter): Promise<MigrationRow[]>;
  /** Ids of migrations whose wake-up time has come, oldest first. */
  dueMigrations(now: number, limit: number): Promise<number[]>;
  /** Ids of every migration not yet in a terminal status. */
  activeMigrations(): Promise<number[]>;

  insertStep(s: StepRow): Promise<void>;
  markStep(migrationId: number, step: string, attempt: number, status: StepStatus, at: number, error: string | null): Promise<void>;
  listSteps(migrationId: number): Promise<StepRow[]>;

  insertClaim(c: Claim, at: number): Promise<void>;
  deleteClaim(migrationId: number): Promise<void>;
  listClaims(host?: string): Promise<Claim[]>;
  /** Instances plus claims, per host (only hosts with any usage appear). */
  hostUsage(host?: string): Promise<Map<string, HostUsage>>;

  /** Replaces the latest audit pass and its anomalies; run it in a transaction so readers never see half of it. */
  saveAuditPass(p: AuditPass): Promise<void>;
  /** The latest audit pass, anomalies in the order found; undefined before the first pass. */
  getAuditPass(): Promise<AuditPass | undefined>;
  insertAuditRepair(r: AuditRepair): Promise<void>;
  /** The most recent repairs first. */
  listAuditRepairs(limit: number): Promise<AuditRepair[]>;
  /** Forgets repairs made before `before`; returns how many went. */
  pruneAuditRepairs(before: number): Promise<number>;
}

export interface Store {
  readonly engine: 'sqlite' | 'postgres';
  /** Non-transactional reads and single writes. */
  readonly repo: Repo;
  transaction<T>(fn: (tx: Repo) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

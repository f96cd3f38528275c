/**
 * The Store port. One contract, two engines (SQLite, PostgreSQL). Everything a transaction does
 * commits or rolls back together; the conductor relies on that to write a workflow's new state,
 * its journal and its claims at once.
 */
import type { Admission, QueueSnapshot, SlotCounts } from '../core/admission.js';
import type { AuditPass, AuditRepair } from '../core/audit-report.js';
import type { DrainState, DrainStatus } from '../core/drain.js';
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
  /** Waiting for a concurrency slot, holding one, or null once terminal (see core/admission.ts). */
  readonly admission: Admission | null;
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
  readonly admission: Admission | null;
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

export interface DrainRow {
  readonly host: string;
  readonly status: DrainStatus;
  readonly state: DrainState;
  readonly version: number;
  readonly nextWakeup: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A queued migration's place: 1 is the next to go out of its source host. */
export interface QueuePlace {
  readonly position: number;
  readonly host: string;
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

/** Thrown by saveDrain when another writer saved the drain first. */
export class DrainConflict extends Error {
  constructor(readonly host: string) {
    super(`the drain of ${host} was changed concurrently`);
  }
}

export const BusyReason = {
  /** PostgreSQL lock_timeout: a row or table stayed locked by another session for too long. */
  LockTimeout: 'lock-timeout',
  /** PostgreSQL statement_timeout. */
  StatementTimeout: 'statement-timeout',
  /** PostgreSQL chose this transaction as a deadlock victim, or a serialization failure. */
  Deadlock: 'deadlock',
  /** SQLite's write lock stayed taken past busy_timeout. */
  Busy: 'busy',
} as const;
export type BusyReason = (typeof BusyReason)[keyof typeof BusyReason];

/**
 * Thrown by Store.transaction when the database gave up waiting: the transaction rolled back and
 * changed nothing. A deadlock victim may retry at once; after a timeout the row is probably held by a
 * stalled session, so the caller leaves the work for later (the next tick) rather than wait again.
 */
export class StoreBusy extends Error {
  constructor(readonly reason: BusyReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  get retryNow(): boolean {
    return this.reason === BusyReason.Deadlock;
  }
}

export interface Repo {
  upsertService(h: ComputeHost): Promise<void>;
  getService(host: string): Promise<ComputeHost | undefined>;
  /**
   * Inside a transaction: locks the host's service row until the transaction ends (PostgreSQL
   * SELECT ... FOR UPDATE), so whoever claims capacity on the host reads its usage after every earlier
   * claim committed. Returns false when the host is unknown. SQLite serializes write transactions
   * (BEGIN IMMEDIATE), so there it only checks that the host exists.
   */
  lockService(host: string): Promise<boolean>;
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

  /**
   * The database holds at most one migration per instance in a non-terminal status (a partial unique
   * index); a second one is refused with BatonError InstanceInvalidState (Nova's 409), whichever
   * request, process or engine it comes from.
   */
  insertMigration(m: NewMigration, initial: (id: number) => WorkflowState): Promise<MigrationRow>;
  /** With forUpdate, the row stays locked until the transaction ends (PostgreSQL); SQLite serializes writers anyway. */
  getMigration(id: number, opts?: { forUpdate?: boolean }): Promise<MigrationRow | undefined>;
  getMigrationByUuid(uuid: string): Promise<MigrationRow | undefined>;
  /** Saves when the stored version is still `expectedVersion`, else throws VersionConflict. */
  saveMigration(id: number, expectedVersion: number, u: MigrationUpdate): Promise<void>;
  listMigrations(f?: MigrationFilter): Promise<MigrationRow[]>;
  /**
   * Ids of migrations whose wake-up time has come, oldest first, leaving out `exclude` and (PostgreSQL)
   * rows another transaction holds locked right now (FOR UPDATE SKIP LOCKED): a row held by a stalled
   * conductor never takes a slot, nor delays the others.
   */
  dueMigrations(now: number, limit: number, exclude?: readonly number[]): Promise<number[]>;
  /** Ids of every migration not yet in a terminal status. */
  activeMigrations(): Promise<number[]>;

  /**
   * Inside a transaction: tries to take the cluster-wide admission lock, held until the transaction ends
   * (PostgreSQL SELECT ... FOR UPDATE SKIP LOCKED on the one admission_lock row). False when another
   * transaction holds it: the caller decides later instead of waiting, so a conductor frozen while holding
   * it costs retries, not blocked sessions. Every transaction that takes a concurrency slot holds it while
   * it counts, so the limits hold across conductors. SQLite serializes write transactions: always true.
   */
  tryLockAdmission(): Promise<boolean>;
  /** Migrations holding a slot (leaving out `exclude`), per source and per destination. */
  slotCounts(exclude?: number): Promise<SlotCounts>;
  /** The oldest waiting migration of each source host, and of each named destination. */
  queueHeads(): Promise<Omit<QueueSnapshot, 'counts'>>;
  /**
   * Makes the given waiting migrations due now (next_wakeup = now), leaving out (PostgreSQL) rows another
   * transaction holds locked: that one is deciding about them, and asks again itself. Returns the ids woken.
   */
  wakeMigrations(ids: readonly number[], now: number): Promise<number[]>;
  /** Where a waiting migration stands in its source host's queue; undefined unless it waits. */
  queuePlace(id: number): Promise<QueuePlace | undefined>;

  /** The drain of `host` (the latest one); with lock, the row stays locked until the transaction ends (PostgreSQL). */
  getDrain(host: string, opts?: { lock?: boolean }): Promise<DrainRow | undefined>;
  /** Creates or replaces the drain of its host (version 1). */
  putDrain(d: Omit<DrainRow, 'version'>): Promise<DrainRow>;
  /** Saves when the stored version is still `expectedVersion`, else throws DrainConflict. */
  saveDrain(host: string, expectedVersion: number, d: Pick<DrainRow, 'status' | 'state' | 'nextWakeup' | 'updatedAt'>): Promise<void>;
  listDrains(): Promise<DrainRow[]>;
  /** Hosts whose drain is due, oldest first, leaving out (PostgreSQL) drains another conductor is running now. */
  dueDrains(now: number, limit: number, exclude?: readonly string[]): Promise<string[]>;
  /**
   * Makes the drain of `host` due now, if it is still going; called when one of the host's migrations ends.
   * A drain row held by a pass in progress is left alone (that pass looks again after its poll interval).
   */
  wakeDrain(host: string, now: number): Promise<void>;

  insertStep(s: StepRow): Promise<void>;
  markStep(migrationId: number, step: string, attempt: number, status: StepStatus, at: number, error: string | null): Promise<void>;
  listSteps(migrationId: number): Promise<StepRow[]>;

  insertClaim(c: Claim, at: number): Promise<void>;
  deleteClaim(migrationId: number): Promise<void>;
  listClaims(host?: string): Promise<Claim[]>;
  /** Instances plus claims, per host (only hosts with any usage appear), read in one statement (one snapshot). */
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
  /** Runs fn in one transaction; rejects with StoreBusy when the database gave up waiting for a lock. */
  transaction<T>(fn: (tx: Repo) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The Repo contract over Kysely: the same queries serve SQLite and PostgreSQL. */
import { sql, type Kysely } from 'kysely';
import type { AuditPass, AuditRepair } from '../core/audit-report.js';
import { BatonError } from '../core/errors.js';
import type { Claim, ComputeHost, Flavor, HostUsage, Instance } from '../core/model.js';
import type { WorkflowState } from '../core/migration-state.js';
import { NO_PROGRESS, TERMINAL_STATUSES } from '../core/migration-status.js';
import type { StepStatus } from '../core/migration-steps.js';
import type { QueueSnapshot, SlotCounts } from '../core/admission.js';
import * as admission from './admission-rows.js';
import * as audit from './audit-rows.js';
import * as drains from './drain-rows.js';
import { fromHost, fromInstance, toFlavor, toHost, toInstance, toMigration, toStep } from './row-mappers.js';
import type { Database } from './schema.js';
import {
  VersionConflict, type BusyReason, type InstanceFilter, type InstancePatch, type MigrationFilter, type MigrationRow, type MigrationUpdate,
  type DrainRow, type NewMigration, type QueuePlace, type Repo, type StepRow,
} from './store.js';

/** What an engine's driver error means to the store, when it means something. */
export type DbFailure = { readonly kind: 'active-migration' } | { readonly kind: 'busy'; readonly reason: BusyReason } | null;

/** Where the engines differ. */
export interface Capabilities {
  /** SELECT ... FOR UPDATE locks rows (PostgreSQL); SQLite has one writer at a time instead. */
  readonly rowLocks: boolean;
  /** Write transactions must start with BEGIN IMMEDIATE (SQLite): several processes may share the file. */
  readonly immediateWrites?: boolean;
  /** Reads the engine's error codes. */
  readonly classify: (e: unknown) => DbFailure;
}

export class KyselyRepo implements Repo {
  readonly #db: Kysely<Database>;
  readonly #caps: Capabilities;

  constructor(db: Kysely<Database>, caps: Capabilities) {
    this.#db = db;
    this.#caps = caps;
  }

  async upsertService(h: ComputeHost): Promise<void> {
    const row = fromHost(h);
    const { host: _h, disabled: _d, disabled_reason: _r, ...update } = row;
    await this.#db.insertInto('services').values(row).onConflict((oc) => oc.column('host').doUpdateSet(update)).execute();
  }

  async getService(host: string): Promise<ComputeHost | undefined> {
    const r = await this.#db.selectFrom('services').selectAll().where('host', '=', host).executeTakeFirst();
    return r && toHost(r);
  }

  async lockService(host: string): Promise<boolean> {
    let q = this.#db.selectFrom('services').select('host').where('host', '=', host);
    if (this.#caps.rowLocks) q = q.forUpdate();
    return (await q.executeTakeFirst()) !== undefined;
  }

  async listServices(): Promise<ComputeHost[]> {
    return (await this.#db.selectFrom('services').selectAll().orderBy('host').execute()).map(toHost);
  }

  async setServiceDisabled(host: string, disabled: boolean, reason: string | null): Promise<boolean> {
    const r = await this.#db.updateTable('services').set({ disabled: disabled ? 1 : 0, disabled_reason: reason })
      .where('host', '=', host).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async upsertFlavor(f: Flavor): Promise<void> {
    const row = { id: f.id, name: f.name, vcpus: f.vcpus, memory_mb: f.memoryMb, disk_gb: f.diskGb };
    await this.#db.insertInto('flavors').values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: f.name, vcpus: f.vcpus, memory_mb: f.memoryMb, disk_gb: f.diskGb })).execute();
  }

  async getFlavor(id: string): Promise<Flavor | undefined> {
    const r = await this.#db.selectFrom('flavors').selectAll().where((eb) => eb.or([eb('id', '=', id), eb('name', '=', id)])).executeTakeFirst();
    return r && toFlavor(r);
  }

  async listFlavors(): Promise<Flavor[]> {
    return (await this.#db.selectFrom('flavors').selectAll().orderBy('memory_mb').orderBy('id').execute()).map(toFlavor);
  }

  async insertInstance(i: Instance): Promise<void> {
    await this.#db.insertInto('instances').values(fromInstance(i)).execute();
  }

  async getInstance(uuid: string): Promise<Instance | undefined> {
    const r = await this.#db.selectFrom('instances').selectAll().where('uuid', '=', uuid).executeTakeFirst();
    return r && toInstance(r);
  }

  async listInstances(f: InstanceFilter = {}): Promise<Instance[]> {
    let q = this.#db.selectFrom('instances').selectAll();
    if (f.host !== undefined) q = q.where('host', '=', f.host);
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    return (await q.orderBy('created_at').orderBy('uuid').execute()).map(toInstance);
  }

  async updateInstance(uuid: string, p: InstancePatch): Promise<void> {
    await this.#db.updateTable('instances').set({
      ...(p.host !== undefined ? { host: p.host } : {}),
      ...(p.vmState !== undefined ? { vm_state: p.vmState } : {}),
      ...(p.taskState !== undefined ? { task_state: p.taskState } : {}),
      ...(p.powerState !== undefined ? { power_state: p.powerState } : {}),
      ...(p.name !== undefined ? { name: p.name } : {}),
      updated_at: p.updatedAt,
    }).where('uuid', '=', uuid).execute();
  }

  async deleteInstance(uuid: string): Promise<void> {
    await this.#db.deleteFrom('instances').where('uuid', '=', uuid).execute();
  }

  async insertMigration(m: NewMigration, initial: (id: number) => WorkflowState): Promise<MigrationRow> {
    let r: { id: number };
    try {
      r = await this.#db.insertInto('migrations').values({
        uuid: m.uuid, instance_uuid: m.instanceUuid, source_compute: m.sourceCompute, dest_compute: m.destCompute, status: m.status,
        migration_type: m.migrationType, state: '{}', version: 0, next_wakeup: m.nextWakeup, admission: m.admission, error: null,
        flavor_id: m.flavorId,
        project_id: m.projectId, user_id: m.userId, created_at: m.createdAt, updated_at: m.updatedAt,
        memory_total: 0, memory_processed: 0, memory_remaining: 0, disk_total: 0, disk_processed: 0, disk_remaining: 0,
      }).returning('id').executeTakeFirstOrThrow();
    } catch (e) {
      if (this.#caps.classify(e)?.kind !== 'active-migration') throw e;
      // Another request for this instance won (possibly in another API process); Nova answers 409 here.
      throw new BatonError('InstanceInvalidState',
        `Instance ${m.instanceUuid} in task_state migrating. Cannot live-migrate while the instance is in this state.`,
        { instanceUuid: m.instanceUuid, attr: 'task_state', state: 'migrating' });
    }
    const id = Number(r.id);
    const state = initial(id);
    await this.#db.updateTable('migrations').set({ state: JSON.stringify(state), version: 1 }).where('id', '=', id).execute();
    return { ...m, id, state, version: 1, progress: NO_PROGRESS, error: null };
  }

  async getMigration(id: number, opts: { forUpdate?: boolean } = {}): Promise<MigrationRow | undefined> {
    let q = this.#db.selectFrom('migrations').selectAll().where('id', '=', id);
    if (opts.forUpdate && this.#caps.rowLocks) q = q.forUpdate();
    const r = await q.executeTakeFirst();
    return r && toMigration(r);
  }

  async getMigrationByUuid(uuid: string): Promise<MigrationRow | undefined> {
    const r = await this.#db.selectFrom('migrations').selectAll().where('uuid', '=', uuid).executeTakeFirst();
    return r && toMigration(r);
  }

  async saveMigration(id: number, expectedVersion: number, u: MigrationUpdate): Promise<void> {
    const p = u.progress;
    const r = await this.#db.updateTable('migrations').set({
      state: JSON.stringify(u.state), status: u.status, dest_compute: u.destCompute, next_wakeup: u.nextWakeup, admission: u.admission,
      error: u.error,
      updated_at: u.updatedAt, version: expectedVersion + 1,
      memory_total: p.memoryTotal, memory_processed: p.memoryProcessed, memory_remaining: p.memoryRemaining,
      disk_total: p.diskTotal, disk_processed: p.diskProcessed, disk_remaining: p.diskRemaining,
    }).where('id', '=', id).where('version', '=', expectedVersion).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new VersionConflict(id);
  }

  async listMigrations(f: MigrationFilter = {}): Promise<MigrationRow[]> {
    let q = this.#db.selectFrom('migrations').selectAll();
    if (f.instanceUuid !== undefined) q = q.where('instance_uuid', '=', f.instanceUuid);
    if (f.host !== undefined) { const h = f.host; q = q.where((eb) => eb.or([eb('source_compute', '=', h), eb('dest_compute', '=', h)])); }
    if (f.sourceCompute !== undefined) q = q.where('source_compute', '=', f.sourceCompute);
    if (f.status !== undefined && f.status.length > 0) q = q.where('status', 'in', [...f.status]);
    if (f.migrationType !== undefined) q = q.where('migration_type', '=', f.migrationType);
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    if (f.changesSince !== undefined) q = q.where('updated_at', '>=', f.changesSince);
    if (f.changesBefore !== undefined) q = q.where('updated_at', '<=', f.changesBefore);
    if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
    q = q.orderBy('id', 'desc');
    if (f.limit !== undefined) q = q.limit(f.limit);
    return (await q.execute()).map(toMigration);
  }

  async dueMigrations(now: number, limit: number, exclude: readonly number[] = []): Promise<number[]> {
    let q = this.#db.selectFrom('migrations').select('id').where('next_wakeup', '<=', now);
    if (exclude.length > 0) q = q.where('id', 'not in', [...exclude]);
    q = q.orderBy('next_wakeup').orderBy('id').limit(limit);
    // The lock lasts only this statement; it is taken to skip rows that some transaction holds right now.
    if (this.#caps.rowLocks) q = q.forUpdate().skipLocked();
    return (await q.execute()).map((r) => Number(r.id));
  }

  async activeMigrations(): Promise<number[]> {
    const rows = await this.#db.selectFrom('migrations').select('id').where('status', 'not in', [...TERMINAL_STATUSES]).orderBy('id').execute();
    return rows.map((r) => Number(r.id));
  }

  tryLockAdmission(): Promise<boolean> {
    return admission.tryLockAdmission(this.#db, this.#caps.rowLocks);
  }

  slotCounts(exclude?: number): Promise<SlotCounts> {
    return admission.slotCounts(this.#db, exclude);
  }

  queueHeads(): Promise<Omit<QueueSnapshot, 'counts'>> {
    return admission.queueHeads(this.#db);
  }

  wakeMigrations(ids: readonly number[], now: number): Promise<number[]> {
    return admission.wakeMigrations(this.#db, this.#caps.rowLocks, ids, now);
  }

  queuePlace(id: number): Promise<QueuePlace | undefined> {
    return admission.queuePlace(this.#db, id);
  }

  getDrain(host: string, opts: { lock?: boolean } = {}): Promise<DrainRow | undefined> {
    return drains.getDrain(this.#db, this.#caps.rowLocks, host, opts.lock === true);
  }

  putDrain(d: Omit<DrainRow, 'version'>): Promise<DrainRow> {
    return drains.putDrain(this.#db, d);
  }

  saveDrain(host: string, expectedVersion: number, d: Pick<DrainRow, 'status' | 'state' | 'nextWakeup' | 'updatedAt'>): Promise<void> {
    return drains.saveDrain(this.#db, host, expectedVersion, d);
  }

  listDrains(): Promise<DrainRow[]> {
    return drains.listDrains(this.#db);
  }

  dueDrains(now: number, limit: number, exclude: readonly string[] = []): Promise<string[]> {
    return drains.dueDrains(this.#db, this.#caps.rowLocks, now, limit, exclude);
  }

  wakeDrain(host: string, now: number): Promise<void> {
    return drains.wakeDrain(this.#db, this.#caps.rowLocks, host, now);
  }

  async insertStep(s: StepRow): Promise<void> {
    await this.#db.insertInto('migration_steps').values({
      migration_id: s.migrationId, step: s.step, attempt: s.attempt, host: s.host, status: s.status, sent_at: s.sentAt,
      acked_at: s.ackedAt, done_at: s.doneAt, failed_at: s.failedAt, error: s.error,
    }).onConflict((oc) => oc.columns(['migration_id', 'step', 'attempt']).doNothing()).execute();
  }

  async markStep(migrationId: number, step: string, attempt: number, status: StepStatus, at: number, error: string | null): Promise<void> {
    const col = status === 'acked' ? 'acked_at' : status === 'done' ? 'done_at' : status === 'failed' ? 'failed_at' : 'sent_at';
    await this.#db.updateTable('migration_steps').set({ status, [col]: at, ...(error !== null ? { error } : {}) })
      .where('migration_id', '=', migrationId).where('step', '=', step).where('attempt', '=', attempt).execute();
  }

  async listSteps(migrationId: number): Promise<StepRow[]> {
    const rows = await this.#db.selectFrom('migration_steps').selectAll().where('migration_id', '=', migrationId)
      .orderBy('sent_at').orderBy('step').orderBy('attempt').execute();
    return rows.map(toStep);
  }

  async insertClaim(c: Claim, at: number): Promise<void> {
    await this.#db.insertInto('claims').values({ migration_id: c.migrationId, host: c.host, instance_uuid: c.instanceUuid,
      vcpus: c.vcpus, memory_mb: c.memoryMb, disk_gb: c.diskGb, created_at: at }).execute();
  }

  async deleteClaim(migrationId: number): Promise<void> {
    await this.#db.deleteFrom('claims').where('migration_id', '=', migrationId).execute();
  }

  async listClaims(host?: string): Promise<Claim[]> {
    let q = this.#db.selectFrom('claims').selectAll();
    if (host !== undefined) q = q.where('host', '=', host);
    return (await q.orderBy('migration_id').execute()).map((r) => ({ migrationId: Number(r.migration_id), host: r.host,
      instanceUuid: r.instance_uuid, vcpus: r.vcpus, memoryMb: r.memory_mb, diskGb: r.disk_gb }));
  }

  async hostUsage(host?: string): Promise<Map<string, HostUsage>> {
    // One statement, so one snapshot: a switch-over that moves an instance onto a host and drops its claim
    // in one commit can never be seen half done (instance not yet there, claim already gone).
    let placed = this.#db.selectFrom('instances').innerJoin('flavors', 'flavors.id', 'instances.flavor_id')
      .select(['instances.host as host', 'flavors.vcpus as vcpus', 'flavors.memory_mb as mem', 'flavors.disk_gb as disk'])
      .select(sql<number>`1`.as('n')).where('instances.host', 'is not', null);
    let claimed = this.#db.selectFrom('claims').select(['host', 'vcpus', 'memory_mb as mem', 'disk_gb as disk']).select(sql<number>`0`.as('n'));
    if (host !== undefined) {
      placed = placed.where('instances.host', '=', host);
      claimed = claimed.where('host', '=', host);
    }
    const rows = await this.#db.selectFrom(placed.unionAll(claimed).as('u'))
      .select((eb) => ['u.host', eb.fn.sum<number>('u.vcpus').as('vcpus'), eb.fn.sum<number>('u.mem').as('mem'),
        eb.fn.sum<number>('u.disk').as('disk'), eb.fn.sum<number>('u.n').as('n')])
      .groupBy('u.host').execute();
    const usage = new Map<string, HostUsage>();
    for (const r of rows) {
      usage.set(r.host!, { vcpus: Number(r.vcpus), memoryMb: Number(r.mem), diskGb: Number(r.disk), instances: Number(r.n) });
    }
    return usage;
  }

  saveAuditPass(p: AuditPass): Promise<void> {
    return audit.saveAuditPass(this.#db, p);
  }

  getAuditPass(): Promise<AuditPass | undefined> {
    return audit.getAuditPass(this.#db);
  }

  insertAuditRepair(r: AuditRepair): Promise<void> {
    return audit.insertAuditRepair(this.#db, r);
  }

  listAuditRepairs(limit: number): Promise<AuditRepair[]> {
    return audit.listAuditRepairs(this.#db, limit);
  }

  pruneAuditRepairs(before: number): Promise<number> {
    return audit.pruneAuditRepairs(this.#db, before);
  }
}

/** The audit's tables over Kysely (both engines): the latest pass with its anomalies, and the repair history. */
import type { Kysely } from 'kysely';
import type { AnomalyKind, AuditPass, AuditRepair, RepairKind, Severity, UnreachableHost } from '../core/audit-report.js';
import type { Database } from './schema.js';

/** The pass table holds one row: the latest pass. */
const LATEST = 1;

export async function saveAuditPass(db: Kysely<Database>, p: AuditPass): Promise<void> {
  const row = { checked_at: p.checkedAt, conductor: p.conductor, duration_ms: p.durationMs, hosts_checked: JSON.stringify(p.hostsChecked),
    unreachable: JSON.stringify(p.unreachable) };
  await db.insertInto('audit_passes').values({ id: LATEST, ...row }).onConflict((oc) => oc.column('id').doUpdateSet(row)).execute();
  await db.deleteFrom('audit_anomalies').execute();
  if (p.anomalies.length === 0) return;
  await db.insertInto('audit_anomalies').values(p.anomalies.map((a, seq) => ({
    seq, kind: a.kind, severity: a.severity, instance_uuid: a.instanceUuid, migration_id: a.migrationId, hosts: JSON.stringify(a.hosts),
    message: a.message,
  }))).execute();
}

export async function getAuditPass(db: Kysely<Database>): Promise<AuditPass | undefined> {
  const p = await db.selectFrom('audit_passes').selectAll().where('id', '=', LATEST).executeTakeFirst();
  if (!p) return undefined;
  const rows = await db.selectFrom('audit_anomalies').selectAll().orderBy('seq').execute();
  return {
    checkedAt: Number(p.checked_at), conductor: p.conductor, durationMs: Number(p.duration_ms),
    hostsChecked: JSON.parse(p.hosts_checked) as string[], unreachable: JSON.parse(p.unreachable) as UnreachableHost[],
    anomalies: rows.map((r) => ({
      kind: r.kind as AnomalyKind, severity: r.severity as Severity, instanceUuid: r.instance_uuid,
      migrationId: r.migration_id === null ? null : Number(r.migration_id), hosts: JSON.parse(r.hosts) as string[], message: r.message,
    })),
  };
}

export async function insertAuditRepair(db: Kysely<Database>, r: AuditRepair): Promise<void> {
  await db.insertInto('audit_repairs').values({ at: r.at, conductor: r.conductor, kind: r.kind, instance_uuid: r.instanceUuid,
    migration_id: r.migrationId, host: r.host, message: r.message }).execute();
}

export async function listAuditRepairs(db: Kysely<Database>, limit: number): Promise<AuditRepair[]> {
  const rows = await db.selectFrom('audit_repairs').selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({
    at: Number(r.at), conductor: r.conductor, kind: r.kind as RepairKind, instanceUuid: r.instance_uuid,
    migrationId: r.migration_id === null ? null : Number(r.migration_id), host: r.host, message: r.message,
  }));
}

export async function pruneAuditRepairs(db: Kysely<Database>, before: number): Promise<number> {
  const r = await db.deleteFrom('audit_repairs').where('at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}

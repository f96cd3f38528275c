/**
 * The JSON of /v2.1/baton/audit. These types are the contract: the `baton audit` client imports them
 * instead of guessing the shape.
 */
import type { AnomalyKind, AuditPass, AuditRepair, RepairKind, Severity, UnreachableHost } from '../../core/audit-report.js';
import { novaTime } from './time-format.js';

export interface AuditAnomalyView {
  readonly kind: AnomalyKind;
  readonly severity: Severity;
  readonly instance_uuid: string | null;
  readonly migration_id: number | null;
  readonly hosts: readonly string[];
  readonly message: string;
}

export interface AuditRepairView {
  readonly at: string;
  readonly conductor: string;
  readonly kind: RepairKind;
  readonly instance_uuid: string | null;
  readonly migration_id: number | null;
  readonly host: string | null;
  readonly message: string;
}

export interface AuditView {
  /** When the latest pass ended; null before the first pass. */
  readonly checked_at: string | null;
  readonly conductor: string | null;
  readonly duration_ms: number | null;
  readonly hosts_checked: readonly string[];
  /** Hosts that are down or did not answer: their guests are unknown, not missing. */
  readonly unreachable: readonly UnreachableHost[];
  /** The latest pass's anomalies (each pass replaces them). */
  readonly anomalies: readonly AuditAnomalyView[];
  /** Recent repairs, newest first. */
  readonly repairs: readonly AuditRepairView[];
}

export interface AuditReply {
  readonly audit: AuditView;
}

function repairView(r: AuditRepair): AuditRepairView {
  return { at: novaTime(r.at)!, conductor: r.conductor, kind: r.kind, instance_uuid: r.instanceUuid, migration_id: r.migrationId,
    host: r.host, message: r.message };
}

export function auditReply(pass: AuditPass | undefined, repairs: readonly AuditRepair[]): AuditReply {
  return {
    audit: {
      checked_at: pass ? novaTime(pass.checkedAt) : null, conductor: pass?.conductor ?? null, duration_ms: pass?.durationMs ?? null,
      hosts_checked: pass?.hostsChecked ?? [], unreachable: pass?.unreachable ?? [],
      anomalies: (pass?.anomalies ?? []).map((a) => ({ kind: a.kind, severity: a.severity, instance_uuid: a.instanceUuid,
        migration_id: a.migrationId, hosts: a.hosts, message: a.message })),
      repairs: repairs.map(repairView),
    },
  };
}

/** Table shapes as Kysely sees them. Times are integer milliseconds since the epoch; JSON is text. */
import type { ColumnType, Generated } from 'kysely';

type Millis = ColumnType<number, number, number>;

export interface ServicesTable {
  host: string;
  hypervisor_id: string;
  hypervisor_type: string;
  hypervisor_version: number;
  cpu_model: string;
  cpu_features: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  cpu_ratio: number;
  ram_ratio: number;
  disk_ratio: number;
  rpc_version: string;
  host_ip: string;
  last_heartbeat: Millis;
  started_at: Millis;
  disabled: number;
  disabled_reason: string | null;
}

export interface FlavorsTable {
  id: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
}

export interface InstancesTable {
  uuid: string;
  name: string;
  host: string | null;
  vm_state: string;
  task_state: string | null;
  power_state: number;
  flavor_id: string;
  image_ref: string;
  project_id: string;
  user_id: string;
  created_at: Millis;
  updated_at: Millis;
}

export interface MigrationsTable {
  id: Generated<number>;
  uuid: string;
  instance_uuid: string;
  source_compute: string;
  dest_compute: string | null;
  status: string;
  migration_type: string;
  memory_total: number;
  memory_processed: number;
  memory_remaining: number;
  disk_total: number;
  disk_processed: number;
  disk_remaining: number;
  /** The workflow state (JSON). */
  state: string;
  /** Optimistic concurrency: every save must name the version it read. */
  version: number;
  /** When the workflow next needs a tick; null when terminal or waiting on nothing timed (a queued migration waits to be woken). */
  next_wakeup: Millis | null;
  /** 'waiting' (new or queued), 'admitted' (holds a concurrency slot) or null (terminal); see core/admission.ts. */
  admission: string | null;
  error: string | null;
  flavor_id: string;
  project_id: string;
  user_id: string;
  created_at: Millis;
  updated_at: Millis;
}

export interface StepsTable {
  migration_id: number;
  step: string;
  attempt: number;
  host: string;
  status: string;
  sent_at: Millis;
  acked_at: Millis | null;
  done_at: Millis | null;
  failed_at: Millis | null;
  error: string | null;
}

export interface ClaimsTable {
  migration_id: number;
  host: string;
  instance_uuid: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  created_at: Millis;
}

/** The latest audit pass only (one row, id 1): each pass replaces it. */
export interface AuditPassesTable {
  id: number;
  checked_at: Millis;
  conductor: string;
  duration_ms: number;
  /** JSON array of host names. */
  hosts_checked: string;
  /** JSON array of {host, reason}. */
  unreachable: string;
}

/** The latest pass's anomalies, replaced with the pass. */
export interface AuditAnomaliesTable {
  seq: number;
  kind: string;
  severity: string;
  instance_uuid: string | null;
  migration_id: number | null;
  /** JSON array of host names. */
  hosts: string;
  message: string;
}

/** Repairs the audit made, kept as a history and pruned by age. */
export interface AuditRepairsTable {
  id: Generated<number>;
  at: Millis;
  conductor: string;
  kind: string;
  instance_uuid: string | null;
  migration_id: number | null;
  host: string | null;
  message: string;
}

/** The cluster-wide lock (one row, id 1) that admissions and wake-ups take, so concurrency limits hold across conductors. */
export interface AdmissionLockTable {
  id: number;
}

/** One server-side drain per host: the latest one. */
export interface DrainsTable {
  host: string;
  status: string;
  /** The drain (JSON, core/drain.ts DrainState). */
  state: string;
  version: number;
  next_wakeup: Millis | null;
  created_at: Millis;
  updated_at: Millis;
}

export interface Database {
  services: ServicesTable;
  flavors: FlavorsTable;
  instances: InstancesTable;
  migrations: MigrationsTable;
  migration_steps: StepsTable;
  claims: ClaimsTable;
  audit_passes: AuditPassesTable;
  audit_anomalies: AuditAnomaliesTable;
  audit_repairs: AuditRepairsTable;
  admission_lock: AdmissionLockTable;
  drains: DrainsTable;
}

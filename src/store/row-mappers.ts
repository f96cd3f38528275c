/** Conversions between table rows and domain objects. */
import type { Selectable } from 'kysely';
import type { Admission } from '../core/admission.js';
import type { ComputeHost, Flavor, Instance } from '../core/model.js';
import type { WorkflowState } from '../core/migration-state.js';
import type { MigrationStatus } from '../core/migration-status.js';
import type { StepStatus } from '../core/migration-steps.js';
import type { Database } from './schema.js';
import type { MigrationRow, StepRow } from './store.js';

type Row<T extends keyof Database> = Selectable<Database[T]>;

export function toHost(r: Row<'services'>): ComputeHost {
  return {
    host: r.host, hypervisorId: r.hypervisor_id, hypervisorType: r.hypervisor_type, hypervisorVersion: Number(r.hypervisor_version),
    cpuModel: r.cpu_model, cpuFeatures: JSON.parse(r.cpu_features) as string[], vcpus: r.vcpus, memoryMb: r.memory_mb,
    diskGb: r.disk_gb, ratios: { cpu: Number(r.cpu_ratio), ram: Number(r.ram_ratio), disk: Number(r.disk_ratio) },
    rpcVersion: r.rpc_version, lastHeartbeat: Number(r.last_heartbeat), disabled: r.disabled === 1,
    disabledReason: r.disabled_reason, hostIp: r.host_ip, startedAt: Number(r.started_at),
  };
}

export function fromHost(h: ComputeHost): Row<'services'> {
  return {
    host: h.host, hypervisor_id: h.hypervisorId, hypervisor_type: h.hypervisorType, hypervisor_version: h.hypervisorVersion,
    cpu_model: h.cpuModel, cpu_features: JSON.stringify(h.cpuFeatures), vcpus: h.vcpus, memory_mb: h.memoryMb, disk_gb: h.diskGb,
    cpu_ratio: h.ratios.cpu, ram_ratio: h.ratios.ram, disk_ratio: h.ratios.disk, rpc_version: h.rpcVersion, host_ip: h.hostIp,
    last_heartbeat: h.lastHeartbeat, started_at: h.startedAt, disabled: h.disabled ? 1 : 0, disabled_reason: h.disabledReason,
  };
}

export function toFlavor(r: Row<'flavors'>): Flavor {
  return { id: r.id, name: r.name, vcpus: r.vcpus, memoryMb: r.memory_mb, diskGb: r.disk_gb };
}

export function toInstance(r: Row<'instances'>): Instance {
  return {
    uuid: r.uuid, name: r.name, host: r.host, vmState: r.vm_state as Instance['vmState'],
    taskState: r.task_state as Instance['taskState'], powerState: r.power_state as Instance['powerState'],
    flavorId: r.flavor_id, imageRef: r.image_ref, projectId: r.project_id, userId: r.user_id,
    createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
  };
}

export function fromInstance(i: Instance): Row<'instances'> {
  return {
    uuid: i.uuid, name: i.name, host: i.host, vm_state: i.vmState, task_state: i.taskState, power_state: i.powerState,
    flavor_id: i.flavorId, image_ref: i.imageRef, project_id: i.projectId, user_id: i.userId,
    created_at: i.createdAt, updated_at: i.updatedAt,
  };
}

export function toMigration(r: Row<'migrations'>): MigrationRow {
  return {
    id: Number(r.id), uuid: r.uuid, instanceUuid: r.instance_uuid, sourceCompute: r.source_compute, destCompute: r.dest_compute,
    status: r.status as MigrationStatus, migrationType: r.migration_type,
    progress: {
      memoryTotal: Number(r.memory_total), memoryProcessed: Number(r.memory_processed), memoryRemaining: Number(r.memory_remaining),
      diskTotal: Number(r.disk_total), diskProcessed: Number(r.disk_processed), diskRemaining: Number(r.disk_remaining),
    },
    state: JSON.parse(r.state) as WorkflowState, version: r.version,
    nextWakeup: r.next_wakeup === null ? null : Number(r.next_wakeup), admission: r.admission as Admission | null, error: r.error,
    flavorId: r.flavor_id,
    projectId: r.project_id, userId: r.user_id, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
  };
}

export function toStep(r: Row<'migration_steps'>): StepRow {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    migrationId: Number(r.migration_id), step: r.step, attempt: r.attempt, host: r.host, status: r.status as StepStatus,
    sentAt: Number(r.sent_at), ackedAt: n(r.acked_at), doneAt: n(r.done_at), failedAt: n(r.failed_at), error: r.error,
  };
}

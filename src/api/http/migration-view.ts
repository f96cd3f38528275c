/** Nova's migration views: server migrations (with progress bytes) and os-migrations (with instance type ids and links). */
import type { ComputeHost } from '../../core/model.js';
import { isTerminal } from '../../core/migration-status.js';
import type { MigrationRow } from '../../store/store.js';
import { atLeast, type Microversion } from './microversion.js';
import { novaTime } from './time-format.js';

/** Nova's "in progress" for server migrations: not finished, and past `accepted`. */
export function isInProgress(m: MigrationRow): boolean {
  return !isTerminal(m.status) && m.status !== 'accepted';
}

function destHost(m: MigrationRow, hosts: ReadonlyMap<string, ComputeHost>): string | null {
  return m.destCompute === null ? null : (hosts.get(m.destCompute)?.hostIp ?? null);
}

function versioned(v: Microversion, m: MigrationRow): Record<string, unknown> {
  return {
    ...(atLeast(v, '2.59') ? { uuid: m.uuid } : {}),
    ...(atLeast(v, '2.80') ? { user_id: m.userId, project_id: m.projectId } : {}),
  };
}

export function serverMigrationView(v: Microversion, m: MigrationRow, hosts: ReadonlyMap<string, ComputeHost>): Record<string, unknown> {
  const p = m.progress;
  return {
    id: m.id, server_uuid: m.instanceUuid, status: m.status,
    source_compute: m.sourceCompute, source_node: m.sourceCompute, dest_compute: m.destCompute, dest_node: m.destCompute,
    dest_host: destHost(m, hosts), created_at: novaTime(m.createdAt), updated_at: novaTime(m.updatedAt),
    memory_total_bytes: p.memoryTotal, memory_processed_bytes: p.memoryProcessed, memory_remaining_bytes: p.memoryRemaining,
    disk_total_bytes: p.diskTotal, disk_processed_bytes: p.diskProcessed, disk_remaining_bytes: p.diskRemaining,
    ...versioned(v, m),
  };
}

/** Nova's instance type ids are integers; Baton's flavor ids are strings, integer when they look like one. */
function instanceTypeId(flavorId: string): number | null {
  return /^\d{1,9}$/.test(flavorId) ? Number(flavorId) : null;
}

export function migrationView(v: Microversion, m: MigrationRow, hosts: ReadonlyMap<string, ComputeHost>, base: string): Record<string, unknown> {
  const typeId = instanceTypeId(m.flavorId);
  const view: Record<string, unknown> = {
    id: m.id, status: m.status, instance_uuid: m.instanceUuid,
    source_compute: m.sourceCompute, source_node: m.sourceCompute, dest_compute: m.destCompute, dest_node: m.destCompute,
    dest_host: destHost(m, hosts), old_instance_type_id: typeId, new_instance_type_id: typeId,
    created_at: novaTime(m.createdAt), updated_at: novaTime(m.updatedAt),
    ...versioned(v, m),
  };
  if (atLeast(v, '2.23')) {
    view['migration_type'] = m.migrationType;
    if (isInProgress(m)) {
      view['links'] = [
        { rel: 'self', href: `${base}/v2.1/servers/${m.instanceUuid}/migrations/${m.id}` },
        { rel: 'bookmark', href: `${base}/servers/${m.instanceUuid}/migrations/${m.id}` },
      ];
    }
  }
  return view;
}

/** Domain objects for store tests. Times are realistic epoch milliseconds (beyond 32 bits on purpose). */
import type { ComputeHost, Flavor, Instance } from '../../src/core/model.js';
import { describeHost } from '../../src/core/model.js';
import { host as coreHost } from '../../src/core/testing/fixtures.js';
import { newWorkflow } from '../../src/core/migration-workflow.js';
import type { MigrationRow, NewMigration, Repo } from '../../src/store/store.js';

export const T0 = 1_800_000_000_123;

export const SMALL: Flavor = { id: '2', name: 'm1.small', vcpus: 2, memoryMb: 2048, diskGb: 20 };

/** The core's host builder, with the sizes and times these tests need. */
export function host(name: string, over: Partial<ComputeHost> = {}): ComputeHost {
  return coreHost(name, { hypervisorId: `hv-${name}`, hypervisorType: 'fake', cpuModel: 'Haswell-noTSX', vcpus: 16, memoryMb: 65_536,
    diskGb: 1000, ratios: { cpu: 16, ram: 1.5, disk: 1.1 }, lastHeartbeat: T0, startedAt: T0 - 60_000, ...over });
}

export function instance(uuid: string, hostName: string | null, over: Partial<Instance> = {}): Instance {
  return {
    uuid, name: `vm-${uuid}`, host: hostName, vmState: 'active', taskState: null, powerState: 1, flavorId: SMALL.id,
    imageRef: 'cirros', projectId: 'p1', userId: 'u1', createdAt: T0, updatedAt: T0, ...over,
  };
}

export function newMigration(uuid: string, inst: Instance, over: Partial<NewMigration> = {}): NewMigration {
  return {
    uuid, instanceUuid: inst.uuid, sourceCompute: inst.host!, destCompute: null, status: 'accepted', migrationType: 'live-migration',
    nextWakeup: T0 + 5000, admission: 'waiting', flavorId: SMALL.id, projectId: inst.projectId, userId: inst.userId, createdAt: T0, updatedAt: T0, ...over,
  };
}

/** Inserts a migration of `inst` with a real initial workflow state, as the API does. */
export function insertMigration(repo: Repo, uuid: string, inst: Instance, source: ComputeHost, requestedHost: string | null = null,
  over: Partial<NewMigration> = {}): Promise<MigrationRow> {
  return repo.insertMigration(newMigration(uuid, inst, { destCompute: requestedHost, ...over }), (id) => newWorkflow({
    migrationId: id, instance: { uuid: inst.uuid, name: inst.name, flavor: SMALL, imageRef: inst.imageRef }, source: describeHost(source), requestedHost,
    blockMigration: 'auto', now: T0,
  }));
}

/** Two hosts, the small flavor and one instance on the first host. */
export async function seedPair(repo: Repo, uuid = 'inst-1'): Promise<{ src: ComputeHost; dst: ComputeHost; inst: Instance }> {
  const src = host('src');
  const dst = host('dst');
  await repo.upsertService(src);
  await repo.upsertService(dst);
  await repo.upsertFlavor(SMALL);
  const inst = instance(uuid, 'src');
  await repo.insertInstance(inst);
  return { src, dst, inst };
}

/** Operations on a running cluster through its store and RPC: seeding, booting, migrating and waiting. */
import { setTimeout as delay } from 'node:timers/promises';
import type { Flavor, Instance } from '../core/model.js';
import { isTerminal } from '../core/migration-status.js';
import { requestLiveMigration, type RequestDeps } from '../api/live-migration-request.js';
import { requestCreateServer } from '../api/server-request.js';
import type { MigrationRow, Store } from '../store/store.js';

export const DEFAULT_FLAVORS: readonly Flavor[] = [
  { id: '1', name: 'm1.tiny', vcpus: 1, memoryMb: 512, diskGb: 1 },
  { id: '2', name: 'm1.small', vcpus: 1, memoryMb: 2048, diskGb: 20 },
  { id: '3', name: 'm1.medium', vcpus: 2, memoryMb: 4096, diskGb: 40 },
  { id: '4', name: 'm1.large', vcpus: 4, memoryMb: 8192, diskGb: 80 },
];

export async function seedFlavors(store: Store, flavors: readonly Flavor[] = DEFAULT_FLAVORS): Promise<void> {
  for (const f of flavors) await store.repo.upsertFlavor(f);
}

/** Polls until `probe` returns a value, or throws after `timeoutMs` naming what it waited for. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, everyMs = 5): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(everyMs);
  }
}

export async function waitForHosts(store: Store, hosts: readonly string[], timeoutMs = 10_000): Promise<void> {
  await waitFor(`hosts ${hosts.join(', ')} to report`, async () => {
    const known = new Set((await store.repo.listServices()).map((s) => s.host));
    return hosts.every((h) => known.has(h));
  }, timeoutMs);
}

export async function bootInstance(d: RequestDeps, name: string, flavorRef: string, host: string | null = null, timeoutMs = 10_000): Promise<Instance> {
  const inst = await requestCreateServer(d, { name, flavorRef, imageRef: 'cirros', host, projectId: 'demo', userId: 'demo' });
  return waitFor(`instance ${name} to become active`, async () => {
    const i = await d.store.repo.getInstance(inst.uuid);
    if (i?.vmState === 'error') throw new Error(`instance ${name} failed to build`);
    return i?.vmState === 'active' ? i : undefined;
  }, timeoutMs);
}

export async function waitForMigration(store: Store, id: number, timeoutMs = 10_000): Promise<MigrationRow> {
  return waitFor(`migration ${id} to finish`, async () => {
    const m = await store.repo.getMigration(id);
    return m && isTerminal(m.status) ? m : undefined;
  }, timeoutMs, 1);
}

export async function liveMigrate(d: RequestDeps, instanceUuid: string, host: string | null, timeoutMs = 10_000): Promise<MigrationRow> {
  const m = await requestLiveMigration(d, { instanceUuid, host, blockMigration: 'auto', projectId: 'demo', userId: 'demo' });
  return waitForMigration(d.store, m.id, timeoutMs);
}

/** An in-memory embedded cluster for end-to-end tests, with a message trace and fault hooks on the fake drivers. */
import type { FakeDriver } from '../../src/compute/drivers/fake/fake-driver.js';
import type { TraceRecord } from '../../src/rpc/transport.js';
import { bootInstance, seedFlavors, waitForHosts } from '../../src/services/cluster-ops.js';
import { startEmbedded, type EmbeddedCluster, type EmbeddedOptions } from '../../src/services/embedded-cluster.js';

export const HOSTS = ['host-a', 'host-b', 'host-c'] as const;

export interface Fixture {
  readonly cluster: EmbeddedCluster;
  readonly trace: TraceRecord[];
  readonly logs: string[];
  fake(host: string): FakeDriver;
  stop(): Promise<void>;
}

export async function startFixture(opts: Partial<EmbeddedOptions> = {}): Promise<Fixture> {
  const logs: string[] = [];
  const cluster = await startEmbedded({ dataDir: null, hosts: HOSTS, log: (m) => logs.push(m), ...opts });
  const trace: TraceRecord[] = [];
  cluster.bus.setTrace((r) => trace.push(r));
  await seedFlavors(cluster.store);
  await waitForHosts(cluster.store, HOSTS);
  return { cluster, trace, logs, fake: (h) => cluster.drivers.get(h) as FakeDriver, stop: () => cluster.stop() };
}

export async function bootOn(f: Fixture, host: string, name = `vm-${host}`) {
  return bootInstance(f.cluster.requests, name, 'm1.small', host);
}

/** Where each fake hypervisor says the guest is. */
export async function whereIs(f: Fixture, uuid: string): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  for (const h of HOSTS) {
    const g = (await f.fake(h).listGuests()).find((x) => x.uuid === uuid);
    if (g) seen[h] = g.state;
  }
  return seen;
}

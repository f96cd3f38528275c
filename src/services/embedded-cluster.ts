/**
 * Composition root of the embedded default: one process, SQLite (file or memory), the in-process
 * transport, one conductor and N fake compute hosts. The only place these adapters are built together.
 */
import { join } from 'node:path';
import type { AllocationRatios } from '../core/model.js';
import type { WorkflowState } from '../core/migration-state.js';
import type { Clock } from '../core/ports.js';
import { ComputeAgent } from '../compute/compute-agent.js';
import { FakeDriver, type FakeMigrationPolicy } from '../compute/drivers/fake/fake-driver.js';
import { InMemoryFabric } from '../compute/drivers/fake/fake-fabric.js';
import type { HypervisorDriver } from '../compute/driver-port.js';
import { openSqliteStepJournal } from '../compute/sqlite-step-journal.js';
import type { StepJournal } from '../compute/step-journal.js';
import { conductorConfig, type ConductorConfig } from '../conductor/conductor-config.js';
import { Conductor } from '../conductor/conductor-service.js';
import type { RequestDeps } from '../api/live-migration-request.js';
import { RpcClient } from '../rpc/rpc-client.js';
import { InProcessBus } from '../rpc/transports/in-process-transport.js';
import { randomIds, systemClock } from '../runtime/system-clock.js';
import { SimClock } from '../runtime/sim-clock.js';
import type { LogFn } from '../runtime/logger.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';

export interface EmbeddedOptions {
  /** Directory for baton.sqlite, each host's step journal and fake registry; null keeps everything in memory. */
  readonly dataDir: string | null;
  readonly hosts: readonly string[];
  readonly conductor?: Parameters<typeof conductorConfig>[0];
  readonly fakePolicy?: Partial<FakeMigrationPolicy>;
  /** Clock of the fake hypervisors; a SimClock by default so simulated copies take no real time. */
  readonly driverClock?: Clock;
  readonly ratios?: AllocationRatios;
  readonly reportIntervalMs?: number;
  /** Builds a host's driver instead of the fake one (the qemu driver plugs in here). */
  readonly driverFactory?: (host: string) => Promise<HypervisorDriver>;
  readonly log: LogFn;
  readonly onTerminal?: (migrationId: number, state: WorkflowState) => void;
}

export interface EmbeddedCluster {
  readonly store: Store;
  readonly bus: InProcessBus;
  readonly conductor: Conductor;
  readonly config: ConductorConfig;
  readonly computes: ReadonlyMap<string, ComputeAgent>;
  readonly drivers: ReadonlyMap<string, HypervisorDriver>;
  /** Each host's step journal: an agent restarted on that host (tests) takes the same one. */
  readonly journals: ReadonlyMap<string, StepJournal>;
  readonly requests: RequestDeps;
  stop(): Promise<void>;
}

export async function startEmbedded(o: EmbeddedOptions): Promise<EmbeddedCluster> {
  const store = await createSqliteStore(o.dataDir === null ? ':memory:' : join(o.dataDir, 'baton.sqlite'));
  const bus = new InProcessBus();
  const config = conductorConfig(o.conductor);
  const conductor = new Conductor({ name: 'conductor-0', store, transport: bus.transport(), clock: systemClock, config, log: o.log,
    ...(o.onTerminal ? { onTerminal: o.onTerminal } : {}) });
  await conductor.start();
  const fabric = new InMemoryFabric();
  const driverClock = o.driverClock ?? new SimClock();
  const computes = new Map<string, ComputeAgent>();
  const drivers = new Map<string, HypervisorDriver>();
  const journals = new Map<string, StepJournal>();
  for (const host of o.hosts) {
    const driver = o.driverFactory ? await o.driverFactory(host)
      : new FakeDriver({ host, clock: driverClock, fabric, ...(o.fakePolicy ? { policy: o.fakePolicy } : {}),
        ...(o.dataDir !== null ? { statePath: join(o.dataDir, `fake-${host}.json`) } : {}) });
    const journal = openSqliteStepJournal(o.dataDir === null ? ':memory:' : join(o.dataDir, `journal-${host}.sqlite`));
    journals.set(host, journal);
    const agent = new ComputeAgent({ host, hostIp: '127.0.0.1', driver, transport: bus.transport(), clock: driverClock, journal,
      ratios: o.ratios ?? { cpu: 16, ram: 1.5, disk: 1 }, reportIntervalMs: o.reportIntervalMs ?? 10_000, progressIntervalMs: 1_000, log: o.log });
    await agent.start();
    computes.set(host, agent);
    drivers.set(host, driver);
  }
  const requests: RequestDeps = { store, rpc: new RpcClient(bus.transport(), { role: 'api', host: 'api' }), clock: systemClock, ids: randomIds,
    startGraceMs: config.startGraceMs };
  return {
    store, bus, conductor, config, computes, drivers, journals, requests,
    async stop() {
      for (const c of computes.values()) await c.stop();
      await conductor.stop();
      for (const d of drivers.values()) await d.close();
      for (const j of journals.values()) j.close();
      await store.close();
    },
  };
}

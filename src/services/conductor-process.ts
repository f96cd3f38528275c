/** Composition root of one `baton conductor` process: the shared store, the broker, one Conductor. */
import { hostname } from 'node:os';
import type { BatonConfig } from '../config/config-schema.js';
import { conductorConfig } from '../conductor/conductor-config.js';
import { Conductor } from '../conductor/conductor-service.js';
import type { LogFn } from '../runtime/logger.js';
import { systemClock } from '../runtime/system-clock.js';
import type { Store } from '../store/store.js';
import { DEFAULT_FLAVORS, seedFlavors } from './cluster-ops.js';
import { QEMU_DEMO_FLAVOR } from './driver-factory.js';
import { closeAll, openStore, openTransport } from './process-deps.js';

export interface ConductorProcess {
  readonly name: string;
  readonly store: Store;
  stop(): Promise<void>;
}

export async function startConductorProcess(cfg: BatonConfig, log: LogFn, name?: string): Promise<ConductorProcess> {
  const me = name ?? cfg.conductor.name ?? `conductor-${hostname()}-${process.pid}`;
  const { workflow, name: _n, ...timers } = cfg.conductor;
  const config = conductorConfig({ ...timers, workflow });
  const store = await openStore(cfg.database, `baton-conductor ${me}`);
  const opened: [string, () => Promise<unknown>][] = [['store', () => store.close()]];
  try {
    // A new deployment gets Nova's classic flavors plus the small one the qemu test guest boots with.
    if ((await store.repo.listFlavors()).length === 0) await seedFlavors(store, [...DEFAULT_FLAVORS, QEMU_DEMO_FLAVOR]);
    const transport = await openTransport(cfg.transport, log);
    opened.push(['transport', () => transport.close()]);
    const conductor = new Conductor({ name: me, store, transport, clock: systemClock, config, log });
    await conductor.start();
    opened.push(['conductor', () => conductor.stop()]);
  } catch (e) {
    await closeAll(log, opened);
    throw e;
  }
  return { name: me, store, stop: () => closeAll(log, opened) };
}

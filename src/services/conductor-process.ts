/** Composition root of one `baton conductor` process: the shared store, the broker, one Conductor. */
import { hostname } from 'node:os';
import type { BatonConfig } from '../config/config-schema.js';
import { conductorConfig } from '../conductor/conductor-config.js';
import { Conductor } from '../conductor/conductor-service.js';
import type { LogFn } from '../runtime/logger.js';
import { systemClock } from '../runtime/system-clock.js';
import type { Store } from '../store/store.js';
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
  const store = await openStore(cfg.database);
  const opened: [string, () => Promise<unknown>][] = [['store', () => store.close()]];
  try {
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

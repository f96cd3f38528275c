/**
 * Composition root of one `baton compute --host NAME --driver fake|qemu` process: the broker and one compute agent with
 * its driver and its step journal. A compute never opens the store. Everything it keeps lives in its state dir
 * (<compute.stateDir>/<host>, default <tmpdir>/baton-compute/<host>): the journal, the fake driver's registry, and (unless
 * compute.qemu.stateDir says otherwise) the qemu driver's instances. The fake driver migrates over the TCP fabric
 * (listening on compute.hostIp), so guests move between compute processes.
 */
import type { BatonConfig } from '../config/config-schema.js';
import { ComputeAgent } from '../compute/compute-agent.js';
import type { HypervisorDriver } from '../compute/driver-port.js';
import { tmpdir } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Clock } from '../core/ports.js';
import { FakeDriver } from '../compute/drivers/fake/fake-driver.js';
import { FaultPlan } from '../compute/drivers/fake/fault-plan.js';
import { TcpFabric } from '../compute/drivers/fake/tcp-fabric.js';
import type { LogFn } from '../runtime/logger.js';
import { SimClock } from '../runtime/sim-clock.js';
import { systemClock } from '../runtime/system-clock.js';
import { openSqliteStepJournal } from '../compute/sqlite-step-journal.js';
import { createDriver, DEFAULT_GUEST_KERNEL, DRIVER_KINDS, isDriverKind } from './driver-factory.js';
import { closeAll, openTransport } from './process-deps.js';

export interface ComputeProcess {
  readonly host: string;
  readonly driver: HypervisorDriver;
  /** Where this host's journal and driver state live. */
  readonly stateDir: string;
  stop(): Promise<void>;
}

/**
 * The host's state dir: <compute.stateDir>/<host>, by default under <tmpdir>/baton-compute. One config can
 * serve every compute of a machine, and two deployments that reuse host names set different roots.
 */
export function computeStateDir(cfg: BatonConfig, host: string): string {
  return join(resolve(cfg.compute.stateDir ?? join(tmpdir(), 'baton-compute')), host);
}

/** `log` takes what an operator should see; `info`, when given, the routine trail (each step execution). */
export async function startComputeProcess(cfg: BatonConfig, host: string, driverKind: string, log: LogFn, info?: LogFn): Promise<ComputeProcess> {
  if (!isDriverKind(driverKind)) throw new Error(`unknown driver "${driverKind}" for baton compute (supported: ${DRIVER_KINDS.join(', ')})`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(host)) throw new Error(`invalid host name "${host}"`);
  const stateDir = computeStateDir(cfg, host);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const opened: [string, () => Promise<unknown>][] = [];
  let clock: Clock;
  let driver: HypervisorDriver;
  if (driverKind === 'qemu') {
    // QEMU runs in real time; its migration stream listens on this host's address. Guests outlive an agent
    // restart: stopping `baton compute` leaves them running and the next start adopts them.
    clock = systemClock;
    driver = await createDriver('qemu', { host, stateDir: join(stateDir, 'qemu'), guestKernel: DEFAULT_GUEST_KERNEL,
      migrationAddress: cfg.compute.hostIp, clock, keepGuestsOnClose: true, ...cfg.compute.qemu });
  } else {
    // The fake's pre-copy runs on simulated time (instant) unless compute.fake.realTime makes it take wall-clock time
    // at its bandwidth, so faults can land mid-copy. The agent keeps wall time: its journal's timestamps must stay
    // comparable across restarts (a SimClock's offset resets).
    clock = systemClock;
    const fabric = new TcpFabric({ address: cfg.compute.hostIp, log });
    opened.push(['fabric', async () => fabric.closeAll()]);
    // The registry file lets the fake's guests outlive a SIGKILL of this process, as QEMU's would.
    const { realTime, faults, ...policy } = cfg.compute.fake;
    driver = new FakeDriver({ host, clock: realTime === true ? systemClock : new SimClock(), fabric, policy,
      statePath: join(stateDir, 'fake-registry.json'), ...(faults ? { faults: FaultPlan.fromSpecs(faults) } : {}) });
  }
  opened.push(['driver', () => driver.close()]);
  try {
    const journal = openSqliteStepJournal(join(stateDir, 'step-journal.sqlite'));
    opened.push(['journal', async () => journal.close()]);
    const transport = await openTransport(cfg.transport, log);
    opened.push(['transport', () => transport.close()]);
    const agent = new ComputeAgent({ host, hostIp: cfg.compute.hostIp, driver, transport, clock, journal, journalTtlMs: cfg.compute.journalTtlMs,
      ratios: cfg.compute.ratios,
      reportIntervalMs: cfg.compute.reportIntervalMs, progressIntervalMs: cfg.compute.progressIntervalMs, log, ...(info ? { info } : {}) });
    await agent.start();
    opened.push(['agent', () => agent.stop()]);
  } catch (e) {
    await closeAll(log, opened);
    throw e;
  }
  return { host, driver, stateDir, stop: () => closeAll(log, opened) };
}

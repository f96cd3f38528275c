/**
 * Composition root of one `baton compute --host NAME --driver fake|qemu` process: the broker and one compute agent with
 * its driver. A compute never opens the store. The fake driver migrates over the TCP fabric (listening
 * on compute.hostIp), so guests move between compute processes.
 */
import type { BatonConfig } from '../config/config-schema.js';
import { ComputeAgent } from '../compute/compute-agent.js';
import type { HypervisorDriver } from '../compute/driver-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../core/ports.js';
import { FakeDriver } from '../compute/drivers/fake/fake-driver.js';
import { FaultPlan } from '../compute/drivers/fake/fault-plan.js';
import { TcpFabric } from '../compute/drivers/fake/tcp-fabric.js';
import type { LogFn } from '../runtime/logger.js';
import { SimClock } from '../runtime/sim-clock.js';
import { systemClock } from '../runtime/system-clock.js';
import { createDriver, DEFAULT_GUEST_KERNEL, DRIVER_KINDS, isDriverKind } from './driver-factory.js';
import { closeAll, openTransport } from './process-deps.js';


export interface ComputeProcess {
  readonly host: string;
  readonly driver: HypervisorDriver;
  stop(): Promise<void>;
}

export async function startComputeProcess(cfg: BatonConfig, host: string, driverKind: string, log: LogFn): Promise<ComputeProcess> {
  if (!isDriverKind(driverKind)) throw new Error(`unknown driver "${driverKind}" for baton compute (supported: ${DRIVER_KINDS.join(', ')})`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(host)) throw new Error(`invalid host name "${host}"`);
  const opened: [string, () => Promise<unknown>][] = [];
  let clock: Clock;
  let driver: HypervisorDriver;
  if (driverKind === 'qemu') {
    // QEMU runs in real time; its migration stream listens on this host's address. Guests outlive an agent
    // restart: stopping `baton compute` leaves them running and the next start adopts them.
    clock = systemClock;
    driver = await createDriver('qemu', { host, stateDir: join(tmpdir(), 'baton-qemu', host), guestKernel: DEFAULT_GUEST_KERNEL,
      migrationAddress: cfg.compute.hostIp, clock, keepGuestsOnClose: true, ...cfg.compute.qemu });
  } else {
    // Simulated copy time: the fake's pre-copy takes no wall-clock time unless the policy sets a bandwidth.
    clock = new SimClock();
    const fabric = new TcpFabric({ address: cfg.compute.hostIp, log });
    opened.push(['fabric', async () => fabric.closeAll()]);
    const { faults, ...policy } = cfg.compute.fake;
    driver = new FakeDriver({ host, clock, fabric, policy, ...(faults ? { faults: FaultPlan.fromSpecs(faults) } : {}) });
  }
  opened.push(['driver', () => driver.close()]);
  try {
    const transport = await openTransport(cfg.transport, log);
    opened.push(['transport', () => transport.close()]);
    const agent = new ComputeAgent({ host, hostIp: cfg.compute.hostIp, driver, transport, clock, ratios: cfg.compute.ratios,
      reportIntervalMs: cfg.compute.reportIntervalMs, progressIntervalMs: cfg.compute.progressIntervalMs, log });
    await agent.start();
    opened.push(['agent', () => agent.stop()]);
  } catch (e) {
    await closeAll(log, opened);
    throw e;
  }
  return { host, driver, stop: () => closeAll(log, opened) };
}

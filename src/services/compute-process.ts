/**
 * Composition root of one `baton compute --host NAME` process: the broker and one compute agent with
 * its driver. A compute never opens the store. The fake driver migrates over the TCP fabric (listening
 * on compute.hostIp), so guests move between compute processes.
 */
import type { BatonConfig } from '../config/config-schema.js';
import { ComputeAgent } from '../compute/compute-agent.js';
import type { HypervisorDriver } from '../compute/driver-port.js';
import { FakeDriver } from '../compute/drivers/fake/fake-driver.js';
import { TcpFabric } from '../compute/drivers/fake/tcp-fabric.js';
import type { LogFn } from '../runtime/logger.js';
import { SimClock } from '../runtime/sim-clock.js';
import { closeAll, openTransport } from './process-deps.js';

export const ComputeDriverKind = { FAKE: 'fake' } as const;
export type ComputeDriverKind = (typeof ComputeDriverKind)[keyof typeof ComputeDriverKind];

export interface ComputeProcess {
  readonly host: string;
  readonly driver: HypervisorDriver;
  stop(): Promise<void>;
}

export async function startComputeProcess(cfg: BatonConfig, host: string, driverKind: string, log: LogFn): Promise<ComputeProcess> {
  if (driverKind !== ComputeDriverKind.FAKE) throw new Error(`unknown driver "${driverKind}" for baton compute (supported: fake)`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(host)) throw new Error(`invalid host name "${host}"`);
  // Simulated copy time: the fake's pre-copy takes no wall-clock time unless the policy sets a bandwidth.
  const clock = new SimClock();
  const fabric = new TcpFabric({ address: cfg.compute.hostIp, log });
  const driver = new FakeDriver({ host, clock, fabric, policy: cfg.compute.fake });
  const opened: [string, () => Promise<unknown>][] = [['fabric', async () => fabric.closeAll()], ['driver', () => driver.close()]];
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

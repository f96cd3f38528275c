/**
 * The qemu hosts of the fault tests on top of a Deployment: `baton compute --driver qemu` processes that run
 * the test guest, a conductor, the 64 MiB flavor, booting a dirtying guest until its counter runs, and
 * SIGKILL + restart of an agent (its QEMUs keep running and the next agent adopts them).
 */
import { join } from 'node:path';
import { requestCreateServer } from '../../src/api/server-request.js';
import type { Instance } from '../../src/core/model.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { E2E_IMAGES, TINY } from '../qemu-e2e/qemu-cluster.js';
import { buildGuest, counterAdvances, FAST_POLICY, GUEST_KERNEL } from '../qemu/qemu-harness.js';
import { Deployment } from './deployment.js';
import type { BatonProcess } from './process-harness.js';

/** Step deadlines short enough that a dead agent is asked about within seconds. */
const FAULT_WORKFLOW = { migrateStallMs: 4000, queryTimeoutMs: 1500, retryBackoffMs: 300, postTimeoutMs: 3000,
  rollbackTimeoutMs: 3000, maxAttempts: 8 };

export class QemuFleet {
  readonly dep = new Deployment({ conductor: { workflow: FAULT_WORKFLOW }, compute: { reportIntervalMs: 500 } });
  readonly agents = new Map<string, BatonProcess>();
  readonly #qemu: Record<string, unknown>;

  /** `bandwidthMibps` sets how long the steady guest's copy takes (it rewrites 16 MiB at 8 MiB/s). */
  constructor(bandwidthMibps: number) {
    this.#qemu = { guestKernel: GUEST_KERNEL, accel: 'tcg', images: E2E_IMAGES, resources: { memoryMb: 1024, vcpus: 2, diskGb: 10 },
      policy: { ...FAST_POLICY, maxBandwidthMibps: bandwidthMibps } };
  }

  stateDir(host: string): string {
    return join(this.dep.dir, host, 'qemu');
  }

  serialLog(host: string, uuid: string): string {
    return join(this.stateDir(host), 'instances', uuid, 'serial.log');
  }

  async start(conductor: string, hosts: readonly string[]): Promise<void> {
    buildGuest();
    await this.dep.open();
    await this.dep.store.repo.upsertFlavor(TINY);
    await this.dep.startConductor(conductor);
    for (const h of hosts) this.agents.set(h, await this.#startAgent(h));
    await this.dep.waitForHosts(hosts);
  }

  /** SIGKILL, `downMs` without an agent, then a new one on the same state dir. */
  async restartAgent(host: string, downMs: number): Promise<void> {
    await this.agents.get(host)!.crash();
    await new Promise((r) => setTimeout(r, downMs));
    this.agents.set(host, await this.#startAgent(host));
  }

  /** Boots a steady (dirtying) guest on `host` and waits until its counter has advanced `warmLines` lines. */
  async boot(name: string, host: string, warmLines: number): Promise<Instance> {
    const { dep } = this;
    const created = await requestCreateServer(dep.requests, { name, flavorRef: TINY.id, imageRef: 'steady', host, projectId: 'p', userId: 'u' });
    const inst = await waitFor(`${name} to become active`, async () => {
      const i = await dep.store.repo.getInstance(created.uuid);
      if (i?.vmState === 'error') throw new Error(`${name} failed to build:\n${dep.tails()}`);
      return i?.vmState === 'active' ? i : undefined;
    }, 60_000, 50);
    await counterAdvances(this.serialLog(host, inst.uuid), warmLines, 30_000);
    return inst;
  }

  #startAgent(host: string): Promise<BatonProcess> {
    return this.dep.startCompute(host, { driver: 'qemu', qemu: this.#qemu });
  }
}

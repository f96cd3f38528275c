/**
 * An embedded cluster whose hosts run the qemu driver (real QEMU under TCG, migrating over loopback),
 * for end-to-end tests through the conductor: the guest kernel, a 64 MiB flavor, images mapped to guest
 * workloads, per-host state dirs under one temp root, the serial counter, and QEMU process counting.
 */
import { closeSync, openSync, readSync, fstatSync, rmSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { MonitorPolicy, QemuDriver } from '../../src/compute/drivers/qemu/index.js';
import type { WorkflowConfig } from '../../src/core/migration-state.js';
import type { Flavor, Instance } from '../../src/core/model.js';
import { requestCreateServer } from '../../src/api/server-request.js';
import { waitFor, waitForHosts } from '../../src/services/cluster-ops.js';
import { createDriver } from '../../src/services/driver-factory.js';
import { startEmbedded, type EmbeddedCluster } from '../../src/services/embedded-cluster.js';
import { systemClock } from '../../src/runtime/system-clock.js';
import { buildGuest, FAST_POLICY, GUEST_KERNEL, IMAGES, qemuPidsUnder } from '../qemu/qemu-harness.js';

export const QEMU_HOSTS = ['qa', 'qb'] as const;
export const TINY: Flavor = { id: 'q64', name: 'q.64', vcpus: 1, memoryMb: 64, diskGb: 0 };

/**
 * Workloads by imageRef, on top of the driver tests' idle/converging/hot: `steady` rewrites 16 MiB at
 * 8 MiB/s (the whole region is non-zero after 2 s), so that at 12 MiB/s of bandwidth each pass is 2/3 of
 * the one before (1.3 s, 0.9 s, 0.6 s, ...) and it converges after about 3 s: long enough for progress
 * reports (at most one a second per migration) to reach the conductor.
 */
export const E2E_IMAGES = { ...IMAGES, steady: { dirtyMib: 16, dirtyRateMibps: 8 } };
export const STEADY_BANDWIDTH_MIBPS = 12;
/** Counter lines (10 a second) after which the steady guest's region has been written once. */
export const STEADY_WARM_COUNTER = 25;

export interface QemuCluster {
  readonly root: string;
  readonly cluster: EmbeddedCluster;
  readonly logs: string[];
  driver(host: string): QemuDriver;
  /** QEMU processes whose command line names this cluster's root (other engineers' QEMUs do not count). */
  pids(): number[];
  boot(imageRef: string, host: string, name?: string): Promise<Instance>;
  stop(): Promise<void>;
}

export interface QemuClusterOptions {
  readonly policy?: Partial<MonitorPolicy>;
  readonly workflow?: Partial<WorkflowConfig>;
}

/**
 * Starts the cluster and registers, on the test, a hook that stops it (closing the drivers and their
 * QEMUs) and checks that no QEMU process is left.
 */
export async function startQemuCluster(t: TestContext, o: QemuClusterOptions = {}): Promise<QemuCluster> {
  buildGuest();
  const root = mkdtempSync('/tmp/bqe-');
  const logs: string[] = [];
  let cluster: EmbeddedCluster | null = null;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await cluster?.stop();
  };
  t.after(async () => {
    try {
      await stop();
      assert.deepEqual(qemuPidsUnder(root), [], 'no QEMU process left after the cluster stopped');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  cluster = await startEmbedded({
    dataDir: null, hosts: QEMU_HOSTS, log: (m) => logs.push(m), driverClock: systemClock,
    conductor: { tickMs: 50, workflow: { retryBackoffMs: 200, ...o.workflow } },
    driverFactory: (host) => createDriver('qemu', {
      host, stateDir: join(root, host), guestKernel: GUEST_KERNEL, accel: 'tcg', images: E2E_IMAGES, clock: systemClock,
      policy: { ...FAST_POLICY, ...o.policy }, resources: { memoryMb: 1024, vcpus: 2, diskGb: 10 },
    }),
  });
  const c = cluster;
  await c.store.repo.upsertFlavor(TINY);
  await waitForHosts(c.store, QEMU_HOSTS);
  return {
    root, cluster: c, logs, stop,
    driver: (host) => c.drivers.get(host) as QemuDriver,
    pids: () => qemuPidsUnder(root),
    async boot(imageRef, host, name = `vm-${imageRef}`) {
      const inst = await requestCreateServer(c.requests, { name, flavorRef: TINY.id, imageRef, host, projectId: 'demo', userId: 'demo' });
      return waitFor(`instance ${name} to become active`, async () => {
        const i = await c.store.repo.getInstance(inst.uuid);
        if (i?.vmState === 'error') throw new Error(`instance ${name} failed to build: ${logs.join('\n')}`);
        return i?.vmState === 'active' ? i : undefined;
      }, 20_000, 20);
    },
  };
}

/** After a test: one QEMU process per instance, and each instance's QEMU on the host its record names. */
export async function assertOneQemuPerInstance(q: QemuCluster): Promise<void> {
  const instances = await q.cluster.store.repo.listInstances();
  for (const host of QEMU_HOSTS) {
    const here = instances.filter((i) => i.host === host).map((i) => i.uuid).sort();
    const guests = (await q.driver(host).listGuests()).map((g) => g.uuid).sort();
    assert.deepEqual(guests, here, `the guests on ${host} are the instances recorded there`);
    assert.equal(q.driver(host).pids().length, here.length, `one QEMU per instance on ${host}`);
  }
  assert.equal(q.pids().length, instances.length, 'as many QEMU processes as instances');
}

/**
 * Keeps the serial log of a guest open, so that its full content can be read after the driver removed
 * the file (post_live_migration_at_source deletes the source's instance dir).
 */
export class HeldLog {
  readonly #fd: number;

  constructor(path: string) {
    this.#fd = openSync(path, 'r');
  }

  text(): string {
    const size = fstatSync(this.#fd).size;
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(this.#fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('latin1');
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Complete "C=<n>" lines of serial output (the last, possibly partial, line is left out). */
export function countersOf(text: string): { counters: number[]; boots: number } {
  const lines = text.split('\n').slice(0, -1);
  const counters = lines.flatMap((l) => { const m = /^C=(\d+)\r?$/.exec(l); return m ? [Number(m[1])] : []; });
  return { counters, boots: lines.filter((l) => l.startsWith('BATON-GUEST boot')).length };
}

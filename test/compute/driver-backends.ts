/**
 * The hypervisor drivers the contract suite runs over: the fake (registry in a file, in-memory fabric) and
 * QEMU under TCG. Each backend gives two hosts, a guest that migrates quickly, a way to keep a copy in flight
 * and let it finish, an agent restart on host a, and where the guest runs according to the hypervisor
 * itself (the fake's registry; QEMU's run state read on the observers' QMP monitor).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestSpec, HypervisorDriver } from '../../src/compute/driver-port.js';
import { FakeDriver } from '../../src/compute/drivers/fake/fake-driver.js';
import { InMemoryFabric } from '../../src/compute/drivers/fake/fake-fabric.js';
import { createQemuDriver, type QemuDriver } from '../../src/compute/drivers/qemu/qemu-driver.js';
import { instancePaths } from '../../src/compute/drivers/qemu/qemu-instance.js';
import { QmpClient } from '../../src/compute/drivers/qemu/qmp-client.js';
import { SimClock } from '../../src/runtime/sim-clock.js';
import { IN_CI } from '../store/service-gate.js';
import { buildGuest, counterAdvances, FAST_POLICY, GUEST_KERNEL, IMAGES, qemuPidsUnder } from '../qemu/qemu-harness.js';

export interface DriverEnv {
  /** Host a's driver; replaced by restartA. */
  a: HypervisorDriver;
  readonly b: HypervisorDriver;
  /** A guest that migrates in well under a second. */
  quickGuest(): GuestSpec;
  /** A guest whose copy, once held, stays in flight until letCopyFinish. */
  heldGuest(): GuestSpec;
  /** Waits until a freshly spawned guest on host a does what it will do during a copy (the QEMU guest dirties memory). */
  warmUp(uuid: string): Promise<void>;
  /** Makes the next copy from host a stay in flight. */
  hold(): void;
  /** Lets the copy in flight from host a (as its current driver knows it) complete. */
  letCopyFinish(uuid: string): Promise<void>;
  /** Host a's agent dies (its memory is lost, the hypervisor keeps its guests) and a new driver takes over. */
  restartA(): Promise<HypervisorDriver>;
  /** Hosts whose hypervisor runs the guest's vCPUs right now. */
  runningOn(uuid: string): Promise<string[]>;
  close(): Promise<void>;
}

export interface DriverBackend {
  readonly name: 'fake' | 'qemu';
  /** Why the backend cannot run here (describe's skip), or false. */
  readonly skip: string | false;
  open(): Promise<DriverEnv>;
  /** QEMU only: stops the guest through the observers' monitor so an unwatched copy converges on its own. */
  readonly pauseUnwatched?: (env: DriverEnv, uuid: string) => Promise<void>;
}

function spec(imageRef: string, memoryMb = 64): GuestSpec {
  return { uuid: randomUUID(), name: `vm-${imageRef}`, vcpus: 1, memoryMb, diskGb: 0, imageRef };
}

const fake: DriverBackend = {
  name: 'fake',
  skip: false,
  async open() {
    const root = mkdtempSync(join(tmpdir(), 'baton-contract-fake-'));
    const fabric = new InMemoryFabric();
    const clock = new SimClock();
    const make = (host: string) => new FakeDriver({ host, clock, fabric, statePath: join(root, `${host}.json`) });
    let a = make('a');
    const b = make('b');
    let release: (() => void) | null = null;
    const env: DriverEnv = {
      get a() { return a; },
      set a(d) { a = d as FakeDriver; },
      b,
      quickGuest: () => spec('idle'),
      heldGuest: () => spec('held'),
      warmUp: async () => undefined,
      hold() { release = a.faults.hang('migrate.pass'); },
      async letCopyFinish() { release?.(); release = null; },
      async restartA() {
        // The dead agent's copy stays blocked for good, as it would have died with its process.
        release = null;
        a = make('a');
        return a;
      },
      async runningOn(uuid) {
        const hosts: string[] = [];
        for (const [name, d] of [['a', a], ['b', b]] as const) {
          if ((await d.listGuests()).some((g) => g.uuid === uuid && g.state === 'running')) hosts.push(name);
        }
        return hosts;
      },
      async close() {
        await Promise.allSettled([a.close(), b.close()]);
        rmSync(root, { recursive: true, force: true });
      },
    };
    return env;
  },
};

function qemuSkip(): string | false {
  if (spawnSync('qemu-system-x86_64', ['--version']).status === 0) return false;
  return IN_CI ? false : 'qemu-system-x86_64 is not installed (set CI=true to make this a failure)';
}

/** QEMU's run state of the guest on one host, read on the observers' monitor; null when it has no QEMU there. */
async function observedRunState(stateDir: string, uuid: string): Promise<string | null> {
  const sock = instancePaths(stateDir, uuid).observeSocket;
  if (!existsSync(sock)) return null;
  let qmp: QmpClient;
  try {
    qmp = await QmpClient.connect(sock, 2_000);
  } catch {
    return null;
  }
  try {
    return (await qmp.execute<{ status: string }>('query-status')).status;
  } finally {
    qmp.close();
  }
}

const qemu: DriverBackend = {
  name: 'qemu',
  skip: qemuSkip(),
  async open() {
    buildGuest();
    const root = mkdtempSync('/tmp/bqc-');
    // 8 MiB/s: the hot guest (24 MiB rewritten at 400 MiB/s) never converges until force-complete pauses it;
    // idle and converging guests still complete within a second.
    const make = (host: string): QemuDriver => createQemuDriver({
      host, stateDir: join(root, host), guestKernel: GUEST_KERNEL, accel: 'tcg', images: IMAGES, keepGuestsOnClose: true,
      policy: { ...FAST_POLICY, maxBandwidthMibps: 8 }, resources: { memoryMb: 1024, vcpus: 2, diskGb: 10 },
    });
    let a = make('a');
    const b = make('b');
    const env: DriverEnv = {
      get a() { return a; },
      set a(d) { a = d as QemuDriver; },
      b,
      quickGuest: () => spec('idle'),
      heldGuest: () => spec('hot'),
      // A guest copied before its kernel started dirtying memory would complete at once.
      warmUp: async (uuid) => { await counterAdvances(a.serialLog(uuid), 2); },
      hold: () => undefined,
      letCopyFinish: (uuid) => a.forceComplete(uuid),
      async restartA() {
        await a.close();
        a = make('a');
        await a.adopt();
        return a;
      },
      async runningOn(uuid) {
        const hosts: string[] = [];
        for (const host of ['a', 'b']) if ((await observedRunState(join(root, host), uuid)) === 'running') hosts.push(host);
        return hosts;
      },
      async close() {
        await Promise.allSettled([a.close(), b.close()]);
        for (const pid of qemuPidsUnder(root)) process.kill(pid, 'SIGKILL');
        rmSync(root, { recursive: true, force: true });
      },
    };
    return env;
  },
  async pauseUnwatched(env, uuid) {
    const stateDir = (env.a as QemuDriver).config.stateDir;
    const qmp = await QmpClient.connect(instancePaths(stateDir, uuid).observeSocket, 2_000);
    try {
      await qmp.execute('stop');
    } finally {
      qmp.close();
    }
  },
};

export const DRIVER_BACKENDS: readonly DriverBackend[] = [fake, qemu];

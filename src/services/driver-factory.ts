/**
 * Builds a host's HypervisorDriver by name ('fake' | 'qemu') from a plain options object, for the
 * composition roots (`baton up --driver`, `baton compute --driver`) and tests. Input is checked here
 * (or, for qemu, by loadQemuDriverConfig) and every error names the bad key.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatonError } from '../core/errors.js';
import type { Flavor } from '../core/model.js';
import type { Clock } from '../core/ports.js';
import type { HypervisorDriver } from '../compute/driver-port.js';
import { FakeDriver, type FakeDriverConfig } from '../compute/drivers/fake/fake-driver.js';
import type { MigrationFabric } from '../compute/drivers/fake/fake-fabric.js';
import { createQemuDriver, loadQemuDriverConfig } from '../compute/drivers/qemu/index.js';
import { systemClock } from '../runtime/system-clock.js';
import { DEFAULT_FLAVORS } from './cluster-ops.js';

export const DRIVER_KINDS = ['fake', 'qemu'] as const;
export type DriverKind = (typeof DRIVER_KINDS)[number];

/** The test guest kernel, relative to the package root (src/services and dist/services are both two levels down). */
export const DEFAULT_GUEST_KERNEL = resolve(fileURLToPath(new URL('../../guest/build/baton-guest.bin', import.meta.url)));

function bad(message: string, field: string): BatonError {
  return new BatonError('InvalidRequest', `driver options: ${message}`, { field });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isClock(v: unknown): v is Clock {
  return isObject(v) && typeof v.now === 'function' && typeof v.sleep === 'function';
}

function isFabric(v: unknown): v is MigrationFabric {
  return isObject(v) && typeof (v as { listen?: unknown }).listen === 'function';
}

export function isDriverKind(kind: unknown): kind is DriverKind {
  return typeof kind === 'string' && (DRIVER_KINDS as readonly string[]).includes(kind);
}

const FAKE_KEYS = new Set(['host', 'clock', 'fabric', 'resources', 'policy', 'statePath']);

function fakeConfig(o: Record<string, unknown>): FakeDriverConfig {
  for (const key of Object.keys(o)) if (!FAKE_KEYS.has(key)) throw bad(`unknown option ${key} for driver fake`, key);
  if (typeof o.host !== 'string' || o.host.length === 0) throw bad('host must be a non-empty string', 'host');
  if (!isClock(o.clock)) throw bad('clock must be a Clock ({ now, sleep }) for driver fake', 'clock');
  if (!isFabric(o.fabric)) throw bad('fabric must be a MigrationFabric for driver fake', 'fabric');
  for (const key of ['resources', 'policy'] as const) {
    if (o[key] !== undefined && !isObject(o[key])) throw bad(`${key} must be an object`, key);
  }
  if (o.statePath !== undefined && (typeof o.statePath !== 'string' || !isAbsolute(o.statePath))) {
    throw bad('statePath must be an absolute path', 'statePath');
  }
  return o as unknown as FakeDriverConfig;
}

/**
 * Builds a driver. `fake` takes { host, clock, fabric, resources?, policy?, statePath? }; `qemu` takes a
 * QemuDriverConfig (host, stateDir, guestKernel, images, policy, ...; see docs/qemu.md). A qemu driver
 * probes its binary before it is returned, so a missing QEMU fails here rather than at the first heartbeat;
 * its state dir is created if needed.
 */
export async function createDriver(kind: string, options: unknown): Promise<HypervisorDriver> {
  if (!isDriverKind(kind)) throw bad(`unknown driver ${JSON.stringify(kind)} (expected ${DRIVER_KINDS.join(' or ')})`, 'driver');
  if (!isObject(options)) throw bad('must be an object', '');
  if (kind === 'fake') return new FakeDriver(fakeConfig(options));
  const cfg = loadQemuDriverConfig(options);
  if (resolve(cfg.guestKernel) === DEFAULT_GUEST_KERNEL) ensureGuestKernel();
  if (cfg.clock !== undefined && !isClock(cfg.clock)) throw bad('clock must be a Clock ({ now, sleep })', 'clock');
  if (isAbsolute(cfg.stateDir)) mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
  const driver = createQemuDriver(cfg);
  try {
    await driver.hostResources();
  } catch (e) {
    await driver.close();
    throw new BatonError('InvalidRequest', `driver options: QEMU binary ${driver.config.binary} is not usable: ${(e as Error).message}`,
      { field: 'binary' });
  }
  // Guests a previous agent left running on this host (keepGuestsOnClose) are taken over, not lost.
  await driver.adopt();
  return driver;
}

const BUILD_GUEST = resolve(fileURLToPath(new URL('../../scripts/build-guest.sh', import.meta.url)));

/**
 * Builds the test guest kernel (guest/baton-guest.asm, with nasm) when it is missing, so that `baton up --driver qemu`
 * and `baton compute --driver qemu` work on a fresh clone as the README says. Errors name what to install.
 */
export function ensureGuestKernel(): void {
  if (existsSync(DEFAULT_GUEST_KERNEL)) return;
  const res = spawnSync('sh', [BUILD_GUEST], { encoding: 'utf8' });
  if (res.status !== 0 || !existsSync(DEFAULT_GUEST_KERNEL)) {
    const why = (res.stderr || res.error?.message || '').trim();
    const hint = /nasm: (command )?not found|ENOENT/.test(why) ? ' (install nasm: apt-get install nasm)' : '';
    throw new BatonError('InvalidRequest', `cannot build the test guest kernel ${DEFAULT_GUEST_KERNEL}${hint}: ${why}`, { field: 'guestKernel' });
  }
}

/** What `baton up --driver qemu` boots: a guest small enough that three TCG hosts fit any machine. */
export const QEMU_DEMO_FLAVOR: Flavor = { id: 'q1', name: 'q1.nano', vcpus: 1, memoryMb: 64, diskGb: 0 };

export interface UpDriverFlags {
  readonly driver?: string;
  readonly stateDir?: string;
  readonly dataDir: string;
  readonly ephemeral: boolean;
}

export interface UpDriverSetup {
  /** Options to spread into startEmbedded (empty for the fake driver). */
  readonly cluster: { driverFactory?: (host: string) => Promise<HypervisorDriver>; driverClock?: Clock };
  /** Flavors to seed on a fresh store, and the flavor the demo instances boot with. */
  readonly flavors: readonly Flavor[];
  readonly demoFlavorRef: string;
  readonly describe: string;
}

/**
 * `baton up --driver <fake|qemu> [--state-dir DIR]`: the fake driver changes nothing; qemu gives each
 * embedded host its own state dir (<state-dir>/<host>; default <data-dir>/qemu, or a temp dir removed at
 * exit with --ephemeral) and real time, since QEMU runs in real time.
 */
export function upDriverSetup(flags: UpDriverFlags): UpDriverSetup {
  const kind = flags.driver ?? 'fake';
  if (!isDriverKind(kind)) throw bad(`unknown driver ${JSON.stringify(kind)} for --driver (expected ${DRIVER_KINDS.join(' or ')})`, 'driver');
  if (kind === 'fake') {
    if (flags.stateDir !== undefined) throw bad('--state-dir applies to --driver qemu only', 'stateDir');
    return { cluster: {}, flavors: DEFAULT_FLAVORS, demoFlavorRef: 'm1.small', describe: 'fake' };
  }
  let root: string;
  if (flags.stateDir !== undefined) root = resolve(flags.stateDir);
  else if (flags.ephemeral) {
    root = mkdtempSync(join(tmpdir(), 'baton-qemu-'));
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  } else root = resolve(flags.dataDir, 'qemu');
  return {
    cluster: {
      driverClock: systemClock,
      driverFactory: (host) => createDriver('qemu', { host, stateDir: join(root, host), guestKernel: DEFAULT_GUEST_KERNEL, clock: systemClock }),
    },
    flavors: [...DEFAULT_FLAVORS, QEMU_DEMO_FLAVOR],
    demoFlavorRef: QEMU_DEMO_FLAVOR.id,
    describe: `qemu (state in ${root})`,
  };
}

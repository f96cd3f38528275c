/**
 * The qemu driver's configuration: what an operator sets (or the composition root builds from flags),
 * validated once at start-up into a resolved, readonly form.
 */
import { accessSync, constants, statSync, statfsSync } from 'node:fs';
import { isIP } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Clock } from '../../../core/ports.js';
import { BatonError } from '../../../core/errors.js';
import { checkCpuModel, checkMachine, checkSafePath, type Accel } from './qemu-args.js';
import { loadMonitorPolicy, type MonitorPolicy } from './monitor-policy.js';

/** What the test guest does while it runs: how much memory it keeps dirtying, and how fast. */
export interface GuestWorkload {
  /** Size of the region the guest rewrites, in MiB (0: an idle guest). */
  readonly dirtyMib: number;
  /** How fast it rewrites pages of that region, in MiB/s. */
  readonly dirtyRateMibps: number;
}

export interface QemuDriverConfig {
  /** This host's name, as the conductor knows it. */
  readonly host: string;
  /** Absolute directory that holds every per-instance file (QMP socket, serial log, pid file). */
  readonly stateDir: string;
  /** The multiboot guest kernel (guest/build/baton-guest.bin, built by scripts/build-guest.sh). */
  readonly guestKernel: string;
  /** QEMU binary: a bare name looked up on PATH or an absolute path. Default qemu-system-x86_64. */
  readonly binary?: string;
  /**
   * 'tcg' (default), 'kvm', or 'auto': KVM when /dev/kvm is accessible, else TCG. TCG is the default
   * because a /dev/kvm node can exist in containers where KVM does not actually run guests.
   */
  readonly accel?: Accel | 'auto';
  /** Machine type or alias (default 'pc'); aliases resolve to the versioned type of this binary. */
  readonly machine?: string;
  /** Guest CPU model (default 'qemu64', which TCG and KVM both offer). */
  readonly cpuModel?: string;
  readonly cpuFeatures?: readonly string[];
  /** IPv4/IPv6 address the destination listens on for the migration stream (default 127.0.0.1). */
  readonly migrationAddress?: string;
  /** imageRef -> workload; imageRefs not listed use images.default, else an idle guest. */
  readonly images?: Readonly<Record<string, GuestWorkload>>;
  /** Capacity reported to the conductor; defaults come from the machine (disk: the state dir's filesystem, as Nova's local_gb). */
  readonly resources?: { readonly vcpus?: number; readonly memoryMb?: number; readonly diskGb?: number };
  /** Monitor policy overrides, validated by loadMonitorPolicy (unknown keys are rejected). */
  readonly policy?: Partial<MonitorPolicy>;
  readonly clock?: Clock;
  /** Time for QEMU to open its QMP socket (default 10 s). */
  readonly startTimeoutMs?: number;
  /** Time for the destination to finish loading after the source completed (default 30 s). */
  readonly finishTimeoutMs?: number;
  /**
   * close() leaves the guests running and a new driver on the same state dir adopts them (a compute agent
   * restart). Default false: close() stops every guest (the embedded demo, tests).
   */
  readonly keepGuestsOnClose?: boolean;
}

export interface ResolvedQemuConfig {
  readonly host: string;
  readonly stateDir: string;
  readonly guestKernel: string;
  readonly binary: string;
  readonly accel: Accel;
  readonly machine: string;
  readonly cpuModel: string;
  readonly cpuFeatures: readonly string[];
  readonly migrationAddress: string;
  readonly images: Readonly<Record<string, GuestWorkload>>;
  readonly resources: { readonly vcpus: number; readonly memoryMb: number; readonly diskGb: number };
  readonly policy: MonitorPolicy;
  readonly clock: Clock;
  readonly startTimeoutMs: number;
  readonly finishTimeoutMs: number;
  readonly keepGuestsOnClose: boolean;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

function bad(message: string, field: string): BatonError {
  return new BatonError('InvalidRequest', `qemu driver config: ${message}`, { field });
}

function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Size of the filesystem that holds `path` (or its nearest existing parent), in whole GiB. */
function filesystemGib(path: string): number {
  let p = path;
  while (statSync(p, { throwIfNoEntry: false }) === undefined && dirname(p) !== p) p = dirname(p);
  const fs = statfsSync(p);
  return Math.floor((fs.blocks * fs.bsize) / 1024 ** 3);
}

export function resolveQemuConfig(cfg: QemuDriverConfig): ResolvedQemuConfig {
  if (!isAbsolute(cfg.stateDir)) throw bad('stateDir must be absolute', 'stateDir');
  const stateDir = checkSafePath('stateDir', resolve(cfg.stateDir));
  // A unix socket path is limited to 107 bytes: instances/<uuid>/qmp.sock adds 55.
  if (stateDir.length > 50) throw bad('stateDir must be at most 50 characters (unix socket paths are short)', 'stateDir');
  const guestKernel = checkSafePath('guestKernel', resolve(cfg.guestKernel));
  if (!statSync(guestKernel, { throwIfNoEntry: false })?.isFile()) {
    throw bad(`guest kernel ${guestKernel} not found (run scripts/build-guest.sh)`, 'guestKernel');
  }
  const binary = cfg.binary ?? 'qemu-system-x86_64';
  if (!/^qemu-system-[a-z0-9_]+$/.test(binary)) checkSafePath('binary', binary);
  const migrationAddress = cfg.migrationAddress ?? '127.0.0.1';
  if (isIP(migrationAddress) === 0) throw bad('migrationAddress must be an IP address', 'migrationAddress');
  const accel = cfg.accel ?? 'tcg';
  if (!['auto', 'tcg', 'kvm'].includes(accel)) throw bad('accel must be auto, tcg or kvm', 'accel');
  for (const [ref, w] of Object.entries(cfg.images ?? {})) {
    if (!(w.dirtyMib >= 0 && w.dirtyMib <= 65_536 && w.dirtyRateMibps >= 0 && w.dirtyRateMibps <= 100_000)) {
      throw bad(`image ${ref}: dirtyMib must be in [0, 65536] and dirtyRateMibps in [0, 100000]`, 'images');
    }
  }
  return {
    host: cfg.host,
    stateDir,
    guestKernel,
    binary,
    accel: accel === 'auto' ? (kvmUsable() ? 'kvm' : 'tcg') : accel,
    machine: checkMachine(cfg.machine ?? 'pc'),
    cpuModel: checkCpuModel(cfg.cpuModel ?? 'qemu64'),
    cpuFeatures: [...(cfg.cpuFeatures ?? [])],
    migrationAddress,
    images: { ...(cfg.images ?? {}) },
    resources: {
      vcpus: cfg.resources?.vcpus ?? cpus().length,
      memoryMb: cfg.resources?.memoryMb ?? Math.floor(totalmem() / 1024 / 1024),
      diskGb: cfg.resources?.diskGb ?? filesystemGib(stateDir),
    },
    policy: loadMonitorPolicy(cfg.policy ?? {}),
    clock: cfg.clock ?? SYSTEM_CLOCK,
    startTimeoutMs: cfg.startTimeoutMs ?? 10_000,
    finishTimeoutMs: cfg.finishTimeoutMs ?? 30_000,
    keepGuestsOnClose: cfg.keepGuestsOnClose ?? false,
  };
}

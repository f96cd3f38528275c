/**
 * Shared set-up for the qemu driver tests: builds the guest, creates two "hosts" (two drivers with their
 * own state dirs, migrating over loopback), reads the guest's serial counter and counts QEMU processes.
 */
import { waitFor as pollUntil } from '../../src/services/cluster-ops.js';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GuestSpec } from '../../src/compute/driver-port.js';
import type { MonitorPolicy } from '../../src/compute/drivers/qemu/monitor-policy.js';
import type { GuestWorkload } from '../../src/compute/drivers/qemu/qemu-config.js';
import { createQemuDriver, type QemuDriver } from '../../src/compute/drivers/qemu/qemu-driver.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const GUEST_KERNEL = join(ROOT, 'guest/build/baton-guest.bin');

export function buildGuest(): void {
  const res = spawnSync('sh', [join(ROOT, 'scripts/build-guest.sh')], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`guest build failed: ${res.stderr}`);
}

/** Workloads by imageRef: idle, a small hot set that converges, and a large one that cannot at 8 MiB/s. */
export const IMAGES: Record<string, GuestWorkload> = {
  idle: { dirtyMib: 0, dirtyRateMibps: 0 },
  converging: { dirtyMib: 2, dirtyRateMibps: 20 },
  hot: { dirtyMib: 24, dirtyRateMibps: 400 },
};

/** Test-sized Nova policy: 10 downtime steps in ~1 s, timeouts in seconds, fast polling. */
export const FAST_POLICY: Partial<MonitorPolicy> = {
  downtimeMs: 300, downtimeSteps: 5, downtimeDelaySPerGib: 2, completionTimeoutSPerGib: 0, minDataGib: 0.1, pollIntervalMs: 50,
};

export interface Hosts {
  readonly root: string;
  readonly a: QemuDriver;
  readonly b: QemuDriver;
  close(): Promise<void>;
}

export function twoHosts(policy: Partial<MonitorPolicy> = {}): Hosts {
  buildGuest();
  const root = mkdtempSync('/tmp/bq-');
  const make = (host: string): QemuDriver => createQemuDriver({
    host, stateDir: join(root, host), guestKernel: GUEST_KERNEL, accel: 'tcg', images: IMAGES,
    policy: { ...FAST_POLICY, ...policy }, resources: { memoryMb: 1024, vcpus: 2, diskGb: 10 },
  });
  const a = make('a');
  const b = make('b');
  return {
    root, a, b,
    async close() {
      await Promise.allSettled([a.close(), b.close()]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function guestSpec(imageRef: string, memoryMb = 64): GuestSpec {
  return { uuid: randomUUID(), name: `vm-${imageRef}`, vcpus: 1, memoryMb, diskGb: 0, imageRef };
}

/** PIDs of QEMU processes whose command line mentions `dir` (other engineers' QEMUs do not count). */
export function qemuPidsUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith('qemu-system') && cmd.includes(dir)) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

export interface SerialLog {
  readonly counters: number[];
  readonly boots: number;
}

/** Complete "C=<n>" lines of a serial log, and how often the guest printed its boot banner. */
export function readSerial(path: string): SerialLog {
  let text = '';
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return { counters: [], boots: 0 };
  }
  const lines = text.split('\n').slice(0, -1); // the last piece may be a line still being written
  const counters = lines.flatMap((l) => { const m = /^C=(\d+)\r?$/.exec(l); return m ? [Number(m[1])] : []; });
  return { counters, boots: lines.filter((l) => l.startsWith('BATON-GUEST boot')).length };
}

export function lastCounter(path: string): number {
  return readSerial(path).counters.at(-1) ?? 0;
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  await pollUntil(what, async () => (await cond()) || undefined, timeoutMs, 25);
}

/** Waits until the guest's counter has advanced by `n` lines from now. */
export async function counterAdvances(path: string, n = 3, timeoutMs = 15_000): Promise<number> {
  const from = lastCounter(path);
  await waitFor(`serial counter past ${from + n} in ${path}`, () => lastCounter(path) >= from + n, timeoutMs);
  return lastCounter(path);
}

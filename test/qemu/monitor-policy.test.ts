/** The monitor policy: Nova's defaults and downtime steps, and a loader that rejects bad configuration. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  completionTimeoutMs, DEFAULT_MONITOR_POLICY, downtimeSteps, loadMonitorPolicy,
} from '../../src/compute/drivers/qemu/monitor-policy.js';
import { buildQemuArgs, type QemuArgsInput } from '../../src/compute/drivers/qemu/qemu-args.js';
import { guestCommandLine } from '../../src/compute/drivers/qemu/qemu-instance.js';
import { loadQemuDriverConfig } from '../../src/compute/drivers/qemu/index.js';

test('defaults are Nova\'s: 500 ms in 10 steps, 75 s/GiB apart, 800 s/GiB completion timeout, abort', () => {
  const p = loadMonitorPolicy();
  assert.deepEqual(p, DEFAULT_MONITOR_POLICY);
  // A 1 GiB guest counts as Nova's minimum of 2 GiB.
  const steps = downtimeSteps(p, 1024);
  assert.equal(steps.length, 11);
  assert.deepEqual(steps[0], { atMs: 0, downtimeMs: 50 });
  assert.deepEqual(steps[1], { atMs: 150_000, downtimeMs: 95 });
  assert.deepEqual(steps[10], { atMs: 1_500_000, downtimeMs: 500 });
  assert.equal(completionTimeoutMs(p, 1024), 1_600_000);
  assert.equal(completionTimeoutMs(p, 8192), 6_400_000);
});

test('downtime limits rise monotonically to the configured final limit', () => {
  const p = loadMonitorPolicy({ downtimeMs: 300, downtimeSteps: 5, downtimeDelaySPerGib: 2, minDataGib: 0.1 });
  const steps = downtimeSteps(p, 64);
  assert.equal(steps.at(-1)!.downtimeMs, 300);
  for (let i = 1; i < steps.length; i++) {
    assert.ok(steps[i]!.downtimeMs > steps[i - 1]!.downtimeMs && steps[i]!.atMs > steps[i - 1]!.atMs);
  }
  assert.equal(steps[1]!.atMs, 200);
});

test('the loader rejects unknown options, wrong types and out-of-range values', () => {
  assert.throws(() => loadMonitorPolicy({ downtimeMS: 5 }), { code: 'InvalidRequest' });
  assert.throws(() => loadMonitorPolicy({ downtimeSteps: 0 }), { code: 'InvalidRequest' });
  assert.throws(() => loadMonitorPolicy({ downtimeSteps: 2.5 }), { code: 'InvalidRequest' });
  assert.throws(() => loadMonitorPolicy({ permitPostCopy: 'yes' }), { code: 'InvalidRequest' });
  assert.throws(() => loadMonitorPolicy({ timeoutAction: 'pause' }), { code: 'InvalidRequest' });
  assert.throws(() => loadMonitorPolicy([]), { code: 'InvalidRequest' });
  assert.equal(loadMonitorPolicy({ timeoutAction: 'force_complete' }).timeoutAction, 'force_complete');
});

const ARGS: QemuArgsInput = {
  uuid: '6f1c2a52-1f0e-4c8e-9a51-3f4f5d8d9e10', name: 'vm', vcpus: 1, memoryMb: 64, machine: 'pc-i440fx-7.2',
  cpuModel: 'qemu64', accel: 'tcg', kernel: '/opt/baton/guest.bin', append: 'd=0 p=0 t=10 h=100',
  qmpSocket: '/var/lib/baton/i/qmp.sock', observeSocket: '/var/lib/baton/i/observe.sock', serialLog: '/var/lib/baton/i/serial.log', pidFile: '/var/lib/baton/i/qemu.pid', incoming: true,
};

test('QEMU arguments come from validated fields only', () => {
  const args = buildQemuArgs(ARGS);
  assert.deepEqual(args.slice(-2), ['-incoming', 'defer']);
  assert.ok(args.includes('-nodefaults'));
  assert.equal(args[args.indexOf('-qmp') + 1], 'unix:/var/lib/baton/i/qmp.sock,server=on,wait=off');
  assert.throws(() => buildQemuArgs({ ...ARGS, machine: 'pc,accel=kvm' }), { code: 'InvalidRequest' });
  assert.throws(() => buildQemuArgs({ ...ARGS, serialLog: '/tmp/x,server=on' }), { code: 'InvalidRequest' });
  assert.throws(() => buildQemuArgs({ ...ARGS, kernel: '/opt/../etc/passwd' }), { code: 'InvalidRequest' });
  assert.throws(() => buildQemuArgs({ ...ARGS, uuid: 'x' }), { code: 'InvalidRequest' });
  assert.throws(() => buildQemuArgs({ ...ARGS, memoryMb: 1.5 }), { code: 'InvalidRequest' });
});

test('the guest command line encodes the workload in pages and ticks', () => {
  assert.equal(guestCommandLine({ dirtyMib: 0, dirtyRateMibps: 0 }), 'd=0 p=0 t=10 h=100');
  assert.equal(guestCommandLine({ dirtyMib: 24, dirtyRateMibps: 400 }), 'd=6144 p=1024 t=10 h=100');
});

test('the driver config loader checks shapes, rejects unknown keys and validates the policy', () => {
  const base = { host: 'h1', stateDir: '/var/lib/baton', guestKernel: '/opt/baton/guest.bin' };
  const cfg = loadQemuDriverConfig({ images: { hot: { dirtyMib: 8, dirtyRateMibps: 100 } }, policy: { timeoutAction: 'force_complete' } }, base);
  assert.equal(cfg.host, 'h1');
  assert.deepEqual(cfg.images, { hot: { dirtyMib: 8, dirtyRateMibps: 100 } });
  assert.throws(() => loadQemuDriverConfig({ stateDirr: '/x' }, base), { code: 'InvalidRequest' });
  assert.throws(() => loadQemuDriverConfig({ cpuFeatures: 'avx' }, base), { code: 'InvalidRequest' });
  assert.throws(() => loadQemuDriverConfig({ policy: { timeoutAction: 'pause' } }, base), { code: 'InvalidRequest' });
  assert.throws(() => loadQemuDriverConfig({ images: { x: { dirtyMib: '8' } } }, base), { code: 'InvalidRequest' });
  assert.throws(() => loadQemuDriverConfig({}, { host: 'h1' }), { code: 'InvalidRequest' });
});

/**
 * The migration monitor against a scripted QMP peer and a simulated clock: downtime steps are applied on
 * schedule, and the completion timeout takes the configured action.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../src/core/ports.js';
import { MigrationMonitor } from '../../src/compute/drivers/qemu/migration-monitor.js';
import { loadMonitorPolicy, type MonitorPolicy } from '../../src/compute/drivers/qemu/monitor-policy.js';
import type { QmpClient } from '../../src/compute/drivers/qemu/qmp-client.js';

/** A QEMU that never converges: every query-migrate advances the clock by 100 ms. */
function scriptedQemu(clock: { t: number }, finishOn: string) {
  const calls: { cmd: string; args?: Record<string, unknown> }[] = [];
  let status = 'active';
  const qmp = {
    onEvent: () => () => undefined,
    async execute(cmd: string, args?: Record<string, unknown>) {
      calls.push({ cmd, args });
      if (cmd === finishOn) status = finishOn === 'migrate_cancel' ? 'cancelled' : 'completed';
      if (cmd !== 'query-migrate') return {};
      clock.t += 100;
      return { status, downtime: 7, 'total-time': clock.t, ram: { transferred: clock.t, remaining: 1_000, total: 64 << 20 } };
    },
  };
  return { qmp: qmp as unknown as QmpClient, calls };
}

function monitor(policy: Partial<MonitorPolicy>, finishOn: string) {
  const t = { t: 0 };
  const clock: Clock = { now: () => t.t, sleep: async () => undefined };
  const q = scriptedQemu(t, finishOn);
  const m = new MigrationMonitor({
    qmp: q.qmp, policy: loadMonitorPolicy({ pollIntervalMs: 10, minDataGib: 1, ...policy }), memoryMb: 1024, clock,
    postcopyReady: false, sourceAlive: () => true, onProgress: () => undefined,
  });
  return { m, calls: q.calls };
}

test('downtime steps rise on schedule; the completion timeout aborts', async () => {
  const { m, calls } = monitor({ downtimeMs: 400, downtimeSteps: 4, downtimeDelaySPerGib: 0.5, completionTimeoutSPerGib: 3 }, 'migrate_cancel');
  assert.deepEqual(await m.run(), { status: 'cancelled', reason: 'timeout' });
  const limits = calls.filter((c) => c.cmd === 'migrate-set-parameters').map((c) => c.args?.['downtime-limit']);
  assert.deepEqual(limits, [175, 250, 325, 400]);
  const cancelAt = calls.findIndex((c) => c.cmd === 'migrate_cancel');
  assert.equal(calls.slice(0, cancelAt).filter((c) => c.cmd === 'query-migrate').length, 31, 'cancelled just after 3 s');
});

test('timeout_action=force_complete without post-copy pauses the guest', async () => {
  const { m, calls } = monitor({ completionTimeoutSPerGib: 1, timeoutAction: 'force_complete', permitPostCopy: true }, 'stop');
  const out = await m.run();
  assert.equal(out.status, 'completed');
  assert.ok(m.pausedSource);
  assert.equal(calls.filter((c) => c.cmd === 'migrate-start-postcopy').length, 0, 'post-copy is not ready on this pair');
});

test('stall detection cancels when remaining RAM stops shrinking', async () => {
  const { m } = monitor({ stallTimeoutS: 1 }, 'migrate_cancel');
  assert.deepEqual(await m.run(), { status: 'cancelled', reason: 'stall' });
});

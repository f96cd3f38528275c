/**
 * A compute agent restart must not take the guests down: with keepGuestsOnClose, closing the driver leaves
 * QEMU running, and a new driver on the same state dir adopts the guest, which keeps counting and can migrate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createQemuDriver } from '../../src/compute/drivers/qemu/index.js';
import { buildGuest, counterAdvances, FAST_POLICY, GUEST_KERNEL, guestSpec, IMAGES, lastCounter, qemuPidsUnder, readSerial } from './qemu-harness.js';

test('keepGuestsOnClose: the guest survives the driver, a new driver adopts it, and it still migrates', async () => {
  buildGuest();
  const root = mkdtempSync('/tmp/bqa-');
  const make = (host: string, keep: boolean) => createQemuDriver({ host, stateDir: join(root, host), guestKernel: GUEST_KERNEL, accel: 'tcg',
    images: IMAGES, policy: FAST_POLICY, resources: { memoryMb: 1024, vcpus: 2, diskGb: 10 }, keepGuestsOnClose: keep });
  const spec = guestSpec('idle');
  const first = make('a', true);
  const b = make('b', true);
  let second = make('a', false);
  try {
    await first.spawn(spec);
    await counterAdvances(first.serialLog(spec.uuid), 2);
    const [pid] = qemuPidsUnder(join(root, 'a'));
    await first.close();
    assert.deepEqual(qemuPidsUnder(join(root, 'a')), [pid], 'the QEMU outlives the driver that started it');
    const before = lastCounter(second.serialLog(spec.uuid));

    assert.deepEqual(await second.adopt(), [spec.uuid]);
    assert.deepEqual(await second.listGuests(), [{ uuid: spec.uuid, state: 'running' }]);
    await counterAdvances(second.serialLog(spec.uuid), 3);
    assert.ok(lastCounter(second.serialLog(spec.uuid)) > before, 'the guest kept counting: it was never restarted');
    assert.equal(readSerial(second.serialLog(spec.uuid)).boots, 1);

    // The adopted guest is a full citizen: it migrates away.
    await b.checkDestination(spec, { cpuModel: second.config.cpuModel, cpuFeatures: second.config.cpuFeatures });
    const incoming = await b.prepareIncoming(spec, 7);
    await second.migrate({ guest: spec, migrationId: 7, destHost: 'b', incoming }, () => undefined);
    await second.cleanupSource(spec.uuid);
    await b.finishIncoming(spec.uuid);
    assert.deepEqual(await b.listGuests(), [{ uuid: spec.uuid, state: 'running' }]);
    assert.deepEqual(qemuPidsUnder(join(root, 'a')), [], 'the source QEMU is gone after the post step');

    // The agent on b goes away leaving the guest, then that QEMU dies: its record is cleaned up, not adopted.
    await b.close();
    const [bPid] = qemuPidsUnder(join(root, 'b'));
    process.kill(bPid!, 'SIGKILL');
    await waitGone(bPid!);
    second = make('b', false);
    assert.deepEqual(await second.adopt(), [], 'a dead QEMU is not adopted');
    assert.equal(existsSync(join(root, 'b', 'instances', spec.uuid)), false, 'its files are removed');
  } finally {
    await Promise.allSettled([first.close(), second.close(), b.close()]);
    for (const pid of qemuPidsUnder(root)) process.kill(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
  assert.deepEqual(qemuPidsUnder(root), []);
});

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try { process.kill(pid, 0); } catch { return; }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} did not exit`);
}

/** The driver factory: builds fake and qemu drivers by name, and names the bad key of invalid options. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { InMemoryFabric } from '../../src/compute/drivers/fake/fake-fabric.js';
import { SimClock } from '../../src/runtime/sim-clock.js';
import { createDriver, upDriverSetup } from '../../src/services/driver-factory.js';
import { buildGuest, GUEST_KERNEL } from '../qemu/qemu-harness.js';

/** Rejects with InvalidRequest whose `field` is `key` and whose message names it. */
async function rejectsOn(p: Promise<unknown>, key: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error & { code?: string; fields?: { field?: string } }) => {
    assert.equal(e.code, 'InvalidRequest', e.message);
    assert.equal(e.fields?.field, key, e.message);
    assert.match(e.message, message);
    return true;
  });
}

test('createDriver builds each kind and names the bad key of invalid options', async (t) => {
  buildGuest();
  const root = mkdtempSync('/tmp/bqe-df-');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const clock = new SimClock();
  const fabric = new InMemoryFabric();
  const fake = await createDriver('fake', { host: 'a', clock, fabric });
  assert.equal(fake.type, 'fake');
  await fake.close();
  const qemu = await createDriver('qemu', { host: 'b', stateDir: join(root, 'b'), guestKernel: GUEST_KERNEL, policy: { downtimeMs: 200 } });
  assert.equal(qemu.type, 'qemu');
  const resources = await qemu.hostResources();
  assert.equal(resources.hypervisorType, 'QEMU');
  // Like Nova's local_gb: the size of the filesystem holding the instances, so flavors with a disk fit.
  const fs = statfsSync(root);
  assert.equal(resources.diskGb, Math.floor((fs.blocks * fs.bsize) / 1024 ** 3));
  assert.ok(resources.diskGb > 0);
  await qemu.close();

  await rejectsOn(createDriver('xen', {}), 'driver', /unknown driver "xen" \(expected fake or qemu\)/);
  await rejectsOn(createDriver('fake', { host: 'a', clock, fabric, polcy: {} }), 'polcy', /unknown option polcy/);
  await rejectsOn(createDriver('fake', { host: 'a', fabric }), 'clock', /clock/);
  await rejectsOn(createDriver('fake', { host: 'a', clock, fabric, statePath: 'rel.json' }), 'statePath', /absolute/);
  const q = { host: 'c', stateDir: join(root, 'c'), guestKernel: GUEST_KERNEL };
  await rejectsOn(createDriver('qemu', { ...q, stateDirr: '/tmp' }), 'stateDirr', /unknown option stateDirr/);
  await rejectsOn(createDriver('qemu', { host: 'c', guestKernel: GUEST_KERNEL }), 'stateDir', /stateDir is required/);
  await rejectsOn(createDriver('qemu', { ...q, policy: { downtimeMs: -1 } }), 'downtimeMs', /downtimeMs must be an integer/);
  await rejectsOn(createDriver('qemu', { ...q, images: { hot: { dirtyMib: 'x' } } }), 'images', /images\.hot/);
  await rejectsOn(createDriver('qemu', { ...q, guestKernel: join(root, 'missing.bin') }), 'guestKernel', /not found/);
  await rejectsOn(createDriver('qemu', { ...q, binary: '/nonexistent/qemu-system-x86_64' }), 'binary', /not usable/);
});

test('upDriverSetup: fake by default, qemu with per-host state dirs and real time, bad flags named', () => {
  assert.deepEqual(upDriverSetup({ dataDir: '/d', ephemeral: false }).cluster, {});
  const qemu = upDriverSetup({ driver: 'qemu', stateDir: '/tmp/bqe-x', dataDir: '/d', ephemeral: false });
  assert.equal(typeof qemu.cluster.driverFactory, 'function');
  assert.ok(qemu.flavors.some((f) => f.id === qemu.demoFlavorRef && f.memoryMb === 64));
  assert.match(upDriverSetup({ driver: 'qemu', dataDir: '/d', ephemeral: false }).describe, /\/d\/qemu/);
  assert.throws(() => upDriverSetup({ driver: 'kvm', dataDir: '/d', ephemeral: false }), /unknown driver "kvm" for --driver/);
  assert.throws(() => upDriverSetup({ driver: 'fake', stateDir: '/x', dataDir: '/d', ephemeral: false }), /--state-dir applies to --driver qemu only/);
});

/** The TCP migration fabric: two fabrics that share nothing but the URI the destination hands out, as two compute processes do. */
import { strict as assert } from 'node:assert';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { FakeDriver } from '../../src/compute/drivers/fake/fake-driver.js';
import { TcpFabric } from '../../src/compute/drivers/fake/tcp-fabric.js';
import { BatonError } from '../../src/core/errors.js';
import { SimClock } from '../../src/runtime/sim-clock.js';

const guest = { uuid: 'g-1', name: 'vm', vcpus: 1, memoryMb: 256, diskGb: 1, imageRef: 'cirros' };
const portOf = (uri: string) => Number(/:(\d+)$/.exec(uri)![1]);
const refused = (port: number) => new Promise<boolean>((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.on('connect', () => { s.destroy(); resolve(false); });
  s.on('error', () => resolve(true));
});

describe('TcpFabric', () => {
  const src = new TcpFabric();
  const dst = new TcpFabric();
  after(() => { src.closeAll(); dst.closeAll(); });

  it('hands the guest over only once the destination confirmed it', async () => {
    const got: unknown[] = [];
    const uri = await dst.listen('dst/g-a/1', { accept: (s) => { got.push(s); } });
    assert.match(uri, /^tcp:127\.0\.0\.1:\d+$/);
    const stream = await src.open(uri);
    assert.equal(stream.alive, true);
    await stream.finish({ uuid: 'g-a', counter: 7 });
    assert.deepEqual(got, [{ uuid: 'g-a', counter: 7 }], 'finish() resolved after the destination accepted');
    dst.close(uri);
    assert.equal(await refused(portOf(uri)), true, 'the listener is closed');
  });

  it('a destination that refuses the guest makes finish() reject', async () => {
    const uri = await dst.listen('dst/g-r/1', { accept: () => { throw new Error('not waiting for this guest'); } });
    const stream = await src.open(uri);
    await assert.rejects(stream.finish({ uuid: 'g-r', counter: 0 }), (e: unknown) => e instanceof BatonError && /not waiting/.test(e.message));
    dst.close(uri);
  });

  it('a destination that rolls back mid-copy resets the stream; a closed one refuses new streams', async () => {
    const uri = await dst.listen('dst/g-b/2', { accept: () => assert.fail('nothing may arrive') });
    const stream = await src.open(uri);
    dst.close(uri);
    for (let i = 0; i < 100 && stream.alive; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(stream.alive, false, 'the source sees the reset');
    await assert.rejects(stream.finish({ uuid: 'g-b', counter: 0 }), /connection reset/);
    await assert.rejects(src.open(uri), (e: unknown) => e instanceof BatonError && e.code === 'MigrationError' && /not listening/.test(e.message));
  });

  it('carries a fake-driver migration between two drivers that share only the URI', async () => {
    const clock = new SimClock();
    const a = new FakeDriver({ host: 'ha', clock, fabric: new TcpFabric() });
    const b = new FakeDriver({ host: 'hb', clock, fabric: new TcpFabric() });
    await a.spawn(guest);
    const incoming = await b.prepareIncoming(guest, 42);
    const r = await a.migrate({ guest, migrationId: 42, destHost: 'hb', incoming }, () => undefined);
    assert.equal(r.postcopy, false);
    assert.deepEqual(await b.listGuests(), [{ uuid: guest.uuid, state: 'running' }], 'running on hb when migrate() returns');
    assert.deepEqual(await a.listGuests(), [{ uuid: guest.uuid, state: 'postmigrate' }]);
    await b.finishIncoming(guest.uuid);
    await a.cleanupSource(guest.uuid);
    assert.deepEqual(await a.listGuests(), []);
  });

  it('a destination rolled back before switch-over fails the copy and leaves the source running', async () => {
    const clock = new SimClock();
    const a = new FakeDriver({ host: 'ha', clock, fabric: new TcpFabric(), policy: { bandwidthMibs: 100 } });
    const b = new FakeDriver({ host: 'hb', clock, fabric: new TcpFabric() });
    const g = { ...guest, uuid: 'g-2' };
    await a.spawn(g);
    const incoming = await b.prepareIncoming(g, 43);
    const release = a.faults.hang('migrate.pass');
    const migrating = a.migrate({ guest: g, migrationId: 43, destHost: 'hb', incoming }, () => undefined);
    await b.rollbackDestination(g.uuid);
    release();
    // Depending on whether the stream was already open, the source sees a reset or a refusal; either way the copy fails.
    await assert.rejects(migrating, /destination went away|destination not listening/);
    assert.deepEqual(await a.listGuests(), [{ uuid: g.uuid, state: 'running' }]);
    assert.deepEqual(await b.listGuests(), []);
  });
});

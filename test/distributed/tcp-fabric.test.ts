/** The loopback-TCP migration fabric: two fabrics that share only a rendezvous directory, as two compute processes do. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FakeDriver } from '../../src/compute/drivers/fake/fake-driver.js';
import { TcpFabric } from '../../src/compute/drivers/fake/tcp-fabric.js';
import { SimClock } from '../../src/runtime/sim-clock.js';
import { waitFor } from '../../src/services/cluster-ops.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-fabric-'));
const guest = { uuid: 'g-1', name: 'vm', vcpus: 1, memoryMb: 256, diskGb: 1, imageRef: 'cirros' };

/** The published port of a listening URI, if any. */
function portOf(uri: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, encodeURIComponent(uri)), 'utf8'));
  } catch {
    return undefined;
  }
}

describe('TcpFabric', () => {
  const src = new TcpFabric({ dir });
  const dst = new TcpFabric({ dir });
  after(async () => { await src.closeAll(); await dst.closeAll(); rmSync(dir, { recursive: true, force: true }); });

  it('delivers the guest state from source to destination and withdraws the listener on arrival', async () => {
    const got: unknown[] = [];
    const uri = 'fake://dst/g-a/1';
    dst.listen(uri, { accept: (s) => { got.push(s); dst.close(uri); } });
    await waitFor('the port to be published', async () => portOf(uri), 2000);
    src.connect(uri).accept({ uuid: 'g-a', counter: 7 });
    await waitFor('the state to arrive', async () => got.length === 1, 2000);
    assert.deepEqual(got, [{ uuid: 'g-a', counter: 7 }]);
    assert.throws(() => src.connect(uri), /destination not listening/);
  });

  it('refuses a source once the destination rolled back, and the port is closed', async () => {
    const uri = 'fake://dst/g-b/2';
    dst.listen(uri, { accept: () => assert.fail('nothing may arrive') });
    const port = await waitFor('the port to be published', async () => portOf(uri), 2000);
    dst.close(uri);
    assert.throws(() => src.connect(uri), (e: Error) => /connection refused/.test(e.message));
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); resolve(false); });
      s.on('error', () => resolve(true));
    });
    assert.equal(refused, true, 'the listener is closed');
  });

  it('carries a fake-driver migration between two drivers that share nothing but the directory', async () => {
    const clock = new SimClock();
    const a = new FakeDriver({ host: 'ha', clock, fabric: new TcpFabric({ dir }) });
    const b = new FakeDriver({ host: 'hb', clock, fabric: new TcpFabric({ dir }) });
    await a.spawn(guest);
    const incoming = await b.prepareIncoming(guest, 42);
    await waitFor('the port to be published', async () => portOf(incoming.uri), 2000);
    const r = await a.migrate({ guest, migrationId: 42, destHost: 'hb', incoming }, () => undefined);
    assert.equal(r.postcopy, false);
    await waitFor('the guest to run on hb', async () => (await b.listGuests())[0]?.state === 'running', 2000);
    await b.finishIncoming(guest.uuid);
    await a.cleanupSource(guest.uuid);
    assert.deepEqual(await a.listGuests(), []);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../../services/cluster-ops.js';
import type { Envelope, Transport } from '../transport.js';
import { FaultTransport, type MessageFault, type MessageFaults } from './fault-transport.js';
import { InProcessBus } from './in-process-transport.js';

const msg = (method: string, kind: Envelope['kind'] = 'cast', id = method): Envelope =>
  ({ v: '1.0', id, method, kind, from: { role: 'conductor', host: 'c1' }, args: {} });

/** A receiver on topic "t" that records the methods it got, and a faulty sender to it. */
async function rig(faults: MessageFaults): Promise<{ got: string[]; faults: MessageFault[]; sender: Transport; close(): Promise<void> }> {
  const bus = new InProcessBus();
  const receiver = bus.transport();
  const got: string[] = [];
  await receiver.serve('t', async (m) => { got.push(m.method); return { ok: true, result: m.method }; });
  const seen: MessageFault[] = [];
  const sender = new FaultTransport(bus.transport(), faults, (f) => seen.push(f));
  return { got, faults: seen, sender, close: async () => { await sender.close(); await receiver.close(); } };
}

describe('FaultTransport', () => {
  it('passes every message through unchanged when no rate is set', async () => {
    const r = await rig({ seed: 1 });
    for (let i = 0; i < 5; i++) await r.sender.publish('t', msg(`m${i}`));
    assert.deepEqual(await r.sender.request('t', msg('q', 'call'), 1000), { ok: true, result: 'q' });
    await waitFor('delivery', async () => r.got.length === 6, 2000, 5);
    assert.deepEqual(r.got, ['m0', 'm1', 'm2', 'm3', 'm4', 'q']);
    assert.deepEqual(r.faults, []);
    await r.close();
  });

  it('drops: a cast never arrives; a call times out, whether its request or its reply was lost', async () => {
    const r = await rig({ seed: 7, drop: 1 });
    await r.sender.publish('t', msg('lost'));
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => r.sender.request('t', msg('q', 'call', `q${i}`), 50)
      .then(() => 'reply', (e: Error & { code?: string }) => e.code)));
    assert.deepEqual(new Set(outcomes), new Set(['MessagingTimeout']));
    await new Promise((res) => setTimeout(res, 50));
    assert.ok(!r.got.includes('lost'), 'the dropped cast never arrived');
    const replyLost = r.faults.filter((f) => f === 'drop-reply').length;
    assert.ok(replyLost > 0 && replyLost < 12, `both kinds of loss happen (${replyLost} of 12 lost their reply)`);
    assert.equal(r.got.filter((m) => m === 'q').length, replyLost, 'the receiver acted exactly on the calls whose reply was lost');
    await r.close();
  });

  it('duplicates: the receiver gets the message twice and a caller one reply', async () => {
    const r = await rig({ seed: 3, duplicate: 1 });
    await r.sender.publish('t', msg('twice'));
    assert.deepEqual(await r.sender.request('t', msg('q', 'call'), 1000), { ok: true, result: 'q' });
    await waitFor('both copies', async () => r.got.length === 4, 2000, 5);
    assert.deepEqual(r.got.sort(), ['q', 'q', 'twice', 'twice']);
    await r.close();
  });

  it('delays: a cast is reported sent at once and arrives later', async () => {
    const r = await rig({ seed: 5, delay: 1, maxDelayMs: 300 });
    const t0 = Date.now();
    for (let i = 0; i < 4; i++) await r.sender.publish('t', msg(`d${i}`));
    assert.ok(Date.now() - t0 < 100, 'publish does not wait for the delay');
    await waitFor('the delayed casts', async () => r.got.length === 4, 2000, 5);
    assert.deepEqual([...r.got].sort(), ['d0', 'd1', 'd2', 'd3']);
    await r.close();
  });

  it('reorders: a message waits until the next one to its topic has gone, or until maxDelayMs', async () => {
    const r = await rig({ seed: 9, reorder: 1, maxDelayMs: 200, methods: ['first', 'alone'] });
    await r.sender.publish('t', msg('first'));
    await r.sender.publish('t', msg('second'));
    await waitFor('both', async () => r.got.length === 2, 2000, 5);
    assert.deepEqual(r.got, ['second', 'first']);
    await r.sender.publish('t', msg('alone'));
    await waitFor('the parked message after maxDelayMs', async () => r.got.length === 3, 2000, 5);
    await r.close();
  });

  it('the same seed gives the same faults in the same order', async () => {
    const run = async () => {
      const r = await rig({ seed: 42, drop: 0.2, duplicate: 0.2, delay: 0.2, maxDelayMs: 10 });
      for (let i = 0; i < 40; i++) await r.sender.publish('t', msg(`m${i}`));
      await r.close();
      return r.faults;
    };
    const a = await run();
    assert.ok(a.length > 10, 'faults were applied');
    assert.deepEqual(await run(), a);
  });

  it('close lets a delayed cast go instead of holding a handler that waits on it', async () => {
    const r = await rig({ seed: 11, delay: 1, maxDelayMs: 60_000 });
    await r.sender.publish('t', msg('late'));
    await r.sender.close();
    await waitFor('the released cast', async () => r.got.includes('late'), 2000, 5);
  });
});

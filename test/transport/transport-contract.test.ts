/**
 * The Transport contract: one suite body, run over every transport (in-process and RabbitMQ).
 * Under CI an unreachable RabbitMQ fails the suite; elsewhere it is skipped with the reason.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatonError } from '../../src/core/errors.js';
import { computeTopic, CONDUCTOR_TOPIC, type Envelope } from '../../src/rpc/transport.js';
import { amqpHarness, inProcessHarness, IN_CI, type Harness } from './transport-harness.js';
import { envelope, gate, sleep, waitFor } from './transport-helpers.js';


for (const h of [inProcessHarness(), await amqpHarness()]) {
  if (h.unavailable && IN_CI) {
    it(`${h.name} transport contract`, () => assert.fail(h.unavailable ?? ''));
    continue;
  }
  describe(`${h.name} transport contract`, { skip: h.unavailable ?? false, timeout: 30_000 }, () => {
    after(() => h.teardown());
    contract(h);
  });
}

function contract(h: Harness): void {
  let n = 0;
  const fresh = (): string => h.topic(computeTopic(`host-${++n}`));
  const pair = async (): Promise<[Awaited<ReturnType<Harness['make']>>, Awaited<ReturnType<Harness['make']>>]> =>
    [await h.make(), await h.make()];

  it('call: the reply comes back to the caller', async () => {
    const [server, client] = await pair();
    const topic = fresh();
    let seen: Envelope | undefined;
    await server.serve(topic, async (m) => { seen = m; return { ok: true, result: { sum: Number(m.args.a) + 1 } }; });
    const sent = envelope('add_one', { a: 41 });
    assert.deepEqual(await client.request(topic, sent, 2000), { ok: true, result: { sum: 42 } });
    assert.deepEqual(seen, sent);
  });

  it('call: a remote error comes back typed as {ok:false, error:{code,message}}', async () => {
    const [server, client] = await pair();
    const topic = fresh();
    await server.serve(topic, async (m) => (m.method === 'refuse'
      ? { ok: false, error: { code: 'NoValidHost', message: 'no host fits', fields: { tried: 3 } } }
      : Promise.reject(new Error('driver exploded'))));
    assert.deepEqual(await client.request(topic, envelope('refuse'), 2000),
      { ok: false, error: { code: 'NoValidHost', message: 'no host fits', fields: { tried: 3 } } });
    const thrown = await client.request(topic, envelope('explode'), 2000);
    assert.equal(thrown.ok, false);
    assert.deepEqual(thrown.ok ? null : { code: thrown.error.code, message: thrown.error.message },
      { code: 'Internal', message: 'driver exploded' });
  });

  it('call: a thrown BatonError keeps its code', async () => {
    const [server, client] = await pair();
    const topic = fresh();
    await server.serve(topic, async () => { throw new BatonError('MigrationPreCheckError', 'disk too small'); });
    const reply = await client.request(topic, envelope('check'), 2000);
    assert.deepEqual(reply.ok ? null : [reply.error.code, reply.error.message], ['MigrationPreCheckError', 'disk too small']);
  });

  it('call: no reply within timeoutMs rejects with MessagingTimeout naming topic and method', async () => {
    const [server, client] = await pair();
    const topic = fresh();
    await server.serve(topic, async () => { await sleep(400); return { ok: true, result: null }; });
    const started = Date.now();
    const err = await client.request(topic, envelope('slow_step'), 100).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof BatonError, `expected a BatonError, got ${String(err)}`);
    assert.equal(err.code, 'MessagingTimeout');
    assert.match(err.message, /slow_step/);
    assert.ok(err.message.includes(topic), err.message);
    assert.ok(Date.now() - started >= 95 && Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  });

  it('cast: delivered to the server; publish resolves before the handler must finish', async () => {
    const [server, client] = await pair();
    const topic = fresh();
    const got: unknown[] = [];
    await server.serve(topic, async (m) => { got.push(m.args); return { ok: true, result: null }; });
    await client.publish(topic, envelope('progress', { pct: 50 }, 'cast'));
    await waitFor(() => got.length === 1, 'the cast');
    assert.deepEqual(got, [{ pct: 50 }]);
  });

  it('two servers on one topic share its messages round-robin', async () => {
    const [a, b] = await pair();
    const client = await h.make();
    const topic = h.topic(CONDUCTOR_TOPIC);
    const count = { a: 0, b: 0 };
    await a.serve(topic, async () => { count.a++; return { ok: true, result: 'a' }; });
    await b.serve(topic, async () => { count.b++; return { ok: true, result: 'b' }; });
    for (let i = 0; i < 20; i++) await client.request(topic, envelope('heartbeat'), 2000);
    assert.equal(count.a + count.b, 20);
    assert.ok(count.a >= 5 && count.b >= 5, `unfair split ${JSON.stringify(count)}`);
  });

  it('200 concurrent calls each get their own reply', async () => {
    const [server, client] = await pair();
    const topic = fresh();
    await server.serve(topic, async (m) => {
      await sleep(Number(m.args.i) % 7); // replies come back out of order
      return { ok: true, result: Number(m.args.i) * 2 };
    });
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => client.request(topic, envelope('double', { i }), 5000)));
    assert.deepEqual(replies, Array.from({ length: 200 }, (_, i) => ({ ok: true, result: i * 2 })));
  });

  it('close() waits for the handler in flight, and its reply still arrives', async () => {
    const [server, client] = await pair();
    const topic = fresh();
    const started = gate();
    let finished = false;
    await server.serve(topic, async () => {
      started.open();
      await sleep(150);
      finished = true;
      return { ok: true, result: 'done' };
    });
    const call = client.request(topic, envelope('long_step'), 3000);
    await started.promise;
    await server.close();
    assert.equal(finished, true, 'close() returned before the handler finished');
    assert.deepEqual(await call, { ok: true, result: 'done' });
  });

  it('messages cross a JSON round trip: no object is shared', async () => {
    const [server, client] = await pair();
    const topic = fresh();
    const kept = { nested: { n: 1 } };
    let received: Record<string, unknown> | undefined;
    await server.serve(topic, async (m) => {
      received = m.args;
      (m.args.nested as { n: number }).n = 99; // must not reach the caller's object
      return { ok: true, result: kept };
    });
    const args = { nested: { n: 1 }, when: new Date(0), gone: undefined };
    const reply = await client.request(topic, envelope('inspect', args), 2000);
    assert.equal(args.nested.n, 1);
    assert.deepEqual(received, { nested: { n: 99 }, when: '1970-01-01T00:00:00.000Z' });
    assert.ok(reply.ok);
    assert.notEqual(reply.result, kept);
    assert.deepEqual(reply.result, { nested: { n: 1 } });
  });
}

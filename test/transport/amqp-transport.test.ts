/**
 * What only the RabbitMQ transport promises: durable queues, message properties (persistence and
 * expiry), rejection of malformed messages, start-up errors that name the URL, and recovery after
 * the broker drops the connection. Fails under CI when RabbitMQ is unreachable, skips elsewhere.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createAmqpTransport } from '../../src/rpc/transports/amqp/amqp-transport.js';
import { computeTopic } from '../../src/rpc/transport.js';
import { AMQP_URL, AmqpRun, IN_CI, rabbitUnreachable, rawConnect, rawPublish } from './amqp-fixture.js';
import { envelope, sleep, waitFor } from './transport-helpers.js';

const unavailable = await rabbitUnreachable();

if (unavailable && IN_CI) {
  it('amqp transport', () => assert.fail(unavailable));
} else {
  describe('amqp transport', { skip: unavailable ?? false, timeout: 30_000 }, () => {
    const run = new AmqpRun();
    after(() => run.cleanup());
    let n = 0;
    const fresh = (): string => run.topic(computeTopic(`amqp-host-${++n}`));

    it('a cast sent while no server consumes waits in the durable queue until one does', async () => {
      const client = await run.transport();
      const topic = fresh();
      await client.publish(topic, envelope('progress', { pct: 10 }, 'cast'));
      const server = await run.transport();
      const got: unknown[] = [];
      await server.serve(topic, async (m) => { got.push(m.args); return { ok: true, result: null }; });
      await waitFor(() => got.length === 1, 'the waiting cast');
      assert.deepEqual(got, [{ pct: 10 }]);
    });

    it('casts and lcalls are persistent; calls are not and expire at their deadline', async () => {
      const client = await run.transport();
      const topic = fresh();
      await client.publish(topic, envelope('progress', {}, 'cast'));
      const lcall = client.request(topic, envelope('live_migration', {}, 'lcall'), 1000).catch(() => 'timeout');
      const call = client.request(topic, envelope('check', {}, 'call'), 1000).catch(() => 'timeout');
      const c = await rawConnect(AMQP_URL);
      const ch = await c.createChannel();
      const props: unknown[][] = [];
      for (const end = Date.now() + 900; props.length < 3 && Date.now() < end;) {
        const m = await ch.get(run.queue(topic), { noAck: true });
        if (m) props.push([JSON.parse(m.content.toString()).kind, m.properties.deliveryMode, expiresWithin(m.properties.expiration, 1000)]);
        else await sleep(10);
      }
      await c.close();
      // calls and lcalls travel on different channels, so their order in the queue is not fixed
      props.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      assert.deepEqual(props, [['call', 1, 'expires'], ['cast', 2, 'never'], ['lcall', 2, 'expires']]);
      assert.deepEqual([await lcall, await call], ['timeout', 'timeout']);
    });

    it('an expired request is not delivered to a server that starts after its deadline', async () => {
      const client = await run.transport();
      const topic = fresh();
      await assert.rejects(client.request(topic, envelope('stale'), 100), { code: 'MessagingTimeout' });
      await sleep(50);
      const server = await run.transport();
      const seen: string[] = [];
      await server.serve(topic, async (m) => { seen.push(m.method); return { ok: true, result: null }; });
      assert.deepEqual(await client.request(topic, envelope('fresh'), 2000), { ok: true, result: null });
      assert.deepEqual(seen, ['fresh']);
    });

    it('a malformed message is rejected and logged; the server keeps serving', async () => {
      const server = await run.transport();
      const topic = fresh();
      await server.serve(topic, async (m) => ({ ok: true, result: m.method }));
      await rawPublish(run.exchange, topic, Buffer.from('{not json'));
      await rawPublish(run.exchange, topic, Buffer.from(JSON.stringify({ hello: 'world' })));
      await waitFor(() => run.logs.filter((l) => l.msg.includes('malformed')).length === 2, 'two rejections logged');
      const lines = run.logs.filter((l) => l.msg.includes('malformed')).map((l) => l.msg).join('\n');
      assert.match(lines, /not JSON/);
      assert.match(lines, /not an Envelope \(field "v" is not a string\)/);
      const client = await run.transport();
      assert.deepEqual(await client.request(topic, envelope('still_alive'), 2000), { ok: true, result: 'still_alive' });
      const c = await rawConnect(AMQP_URL);
      const q = await (await c.createChannel()).checkQueue(run.queue(topic));
      await c.close();
      assert.equal(q.messageCount, 0, 'the rejected messages were requeued');
    });

    it('refused messages (malformed, oversized, refused by the server) are kept in the dead-letter queue with their reason', async () => {
      const own = new AmqpRun();
      try {
        const server = await own.transport();
        const topic = own.topic(computeTopic('dlq-host'));
        await server.serve(topic, async (m) => (m.method === 'forged'
          ? { ok: false, error: { code: 'InvalidRequest', message: 'forged sender' }, rejected: 'InvalidRequest: forged sender' }
          : { ok: true, result: m.method }));
        await rawPublish(own.exchange, topic, Buffer.from('{not json'));
        await rawPublish(own.exchange, topic, Buffer.alloc(2 * 1024 * 1024, 0x20));
        const client = await own.transport();
        const refused = await client.request(topic, envelope('forged'), 2000);
        assert.deepEqual(refused, { ok: false, error: { code: 'InvalidRequest', message: 'forged sender' } }, 'the caller gets the reason, not the marker');
        assert.deepEqual(await client.request(topic, envelope('still_alive'), 2000), { ok: true, result: 'still_alive' });
        const c = await rawConnect(AMQP_URL);
        try {
          const ch = await c.createChannel();
          const reasons: string[] = [];
          for (let tries = 0; reasons.length < 3 && tries < 100; tries++) {
            const m = await ch.get(own.queue('dead-letter'), { noAck: true });
            if (m) reasons.push(`${String(m.properties.headers?.['x-baton-topic'])} ${String(m.properties.headers?.['x-baton-reason'])}`);
            else await sleep(30);
          }
          assert.match(reasons[0]!, /compute\.dlq-host malformed: not JSON/);
          assert.match(reasons[1]!, /malformed: oversized \(2097152 bytes/);
          assert.match(reasons[2]!, /refused forged from .*InvalidRequest: forged sender/);
          assert.equal((await ch.checkQueue(own.queue(topic))).messageCount, 0, 'nothing is requeued');
        } finally {
          await c.close();
        }
        assert.equal(own.logs.filter((l) => l.level === 'error' && l.msg.includes('kept in')).length, 3, 'each refusal is logged with its reason');
      } finally {
        await own.cleanup();
      }
    });

    it('an unreachable or invalid URL fails at start-up naming the URL, password masked', async () => {
      await assert.rejects(createAmqpTransport({ url: 'amqp://baton:s3cret@127.0.0.1:1/' }), (err: Error) => {
        assert.match(err.message, /RabbitMQ at amqp:\/\/baton:\*\*\*@127\.0\.0\.1:1\/ is unreachable/);
        assert.ok(!err.message.includes('s3cret'));
        return true;
      });
      await assert.rejects(createAmqpTransport({ url: 'http://baton:s3cret@127.0.0.1/' }), /http:\/\/baton:\*\*\*@127\.0\.0\.1\/ must use amqp/);
    });

    it('after the broker drops the connection, consumers come back and calls and casts work again', async () => {
      const own = new AmqpRun(); // its own exchange, so only these two connections are dropped
      try {
        const server = await own.transport();
        const client = await own.transport();
        const topic = own.topic(computeTopic('reconnect-host'));
        const seen: string[] = [];
        await server.serve(topic, async (m) => {
          if (m.method === 'in_flight') await sleep(300);
          seen.push(m.method);
          return { ok: true, result: m.method };
        });
        assert.deepEqual(await client.request(topic, envelope('before'), 2000), { ok: true, result: 'before' });
        // A call in flight when the connection dies settles by its deadline: replied (the unacked
        // request is redelivered after the reconnect) or MessagingTimeout, never left hanging.
        const sent = Date.now();
        let settledAfter = Infinity;
        const inFlight = client.request(topic, envelope('in_flight'), 1500)
          .then((r): unknown => r.ok, (e: { code?: string }): unknown => e.code)
          .finally(() => { settledAfter = Date.now() - sent; });
        await sleep(50);
        assert.equal(await own.killConnections(), 2);
        await waitFor(() => own.logs.filter((l) => l.msg.includes('lost connection')).length === 2, 'both losses noticed');
        // Sent while (possibly) still disconnected: waits for the reconnect instead of failing.
        await client.publish(topic, envelope('cast_during_outage', {}, 'cast'));
        assert.deepEqual(await client.request(topic, envelope('after'), 5000), { ok: true, result: 'after' });
        await waitFor(() => seen.includes('cast_during_outage'), 'the cast after reconnect');
        const outcome = await inFlight;
        assert.ok(outcome === true || outcome === 'MessagingTimeout', `in-flight call ended with ${String(outcome)}`);
        assert.ok(settledAfter < 1500 + 300, `the in-flight call settled after ${settledAfter} ms, past its deadline`);
        assert.deepEqual(seen.filter((m) => m === 'before' || m === 'after'), ['before', 'after']);
      } finally {
        await own.cleanup();
      }
    });
  });
}

/** 'never' without an expiration, 'expires' for one within the deadline, else the raw value. */
function expiresWithin(expiration: unknown, deadlineMs: number): unknown {
  if (expiration === undefined) return 'never';
  const ms = Number(expiration);
  return ms > 0 && ms <= deadlineMs ? 'expires' : expiration;
}

/** The spec's lightweight call, message validation and version refusal, on a real compute agent over the in-process transport. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ComputeAgent } from '../../src/compute/compute-agent.js';
import { FakeDriver } from '../../src/compute/drivers/fake/fake-driver.js';
import { InMemoryFabric } from '../../src/compute/drivers/fake/fake-fabric.js';
import { openSqliteStepJournal } from '../../src/compute/sqlite-step-journal.js';
import { BatonError } from '../../src/core/errors.js';
import { Step } from '../../src/core/migration-steps.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { CONDUCTOR_TOPIC, computeTopic, type Envelope } from '../../src/rpc/transport.js';
import { InProcessBus } from '../../src/rpc/transports/in-process-transport.js';
import { SimClock } from '../../src/runtime/sim-clock.js';
import { waitFor } from '../../src/services/cluster-ops.js';

const bus = new InProcessBus();
const received: Envelope[] = [];
const driver = new FakeDriver({ host: 'h1', clock: new SimClock(), fabric: new InMemoryFabric() });
const journal = openSqliteStepJournal(':memory:');
const agent = new ComputeAgent({ host: 'h1', hostIp: '127.0.0.1', driver, transport: bus.transport(), clock: new SimClock(), journal,
  ratios: { cpu: 1, ram: 1, disk: 1 }, reportIntervalMs: 60_000, progressIntervalMs: 1000 });
const rpc = new RpcClient(bus.transport(), { role: 'conductor', host: 'test' });
const instance = { uuid: 'g1', name: 'g1', flavor: { id: '1', name: 'tiny', vcpus: 1, memoryMb: 64, diskGb: 0 } };

before(async () => {
  // Stands in for the conductor: records every cast the compute sends.
  await bus.transport().serve(CONDUCTOR_TOPIC, async (m) => { received.push(m); return { ok: true, result: null }; });
  await agent.start();
  await driver.spawn({ uuid: 'g1', name: 'g1', vcpus: 1, memoryMb: 64, diskGb: 0, imageRef: 'x' });
});
after(async () => { await agent.stop(); journal.close(); });

test('a lightweight call returns on acknowledgement while the handler is still blocked, and the result arrives later as an event', async () => {
  const release = driver.faults.hang('rollbackSource');
  const t0 = Date.now();
  await rpc.lcall(computeTopic('h1'), Step.ROLLBACK_SOURCE, { migrationId: 1, attempt: 1, instance }, { version: '1.0', timeoutMs: 2000 });
  assert.ok(Date.now() - t0 < 1000, 'acknowledged without waiting for the work');
  const results = () => received.filter((m) => m.method === 'step_result');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(results().length, 0, 'no outcome while the handler is blocked on the latch');
  const status = await rpc.call<{ state: string }>(computeTopic('h1'), 'get_step_status', { migrationId: 1, step: Step.ROLLBACK_SOURCE, attempt: 1 }, { version: '1.0' });
  assert.equal(status.state, 'running');
  release();
  const ev = await waitFor('the step_result event', async () => results()[0]);
  assert.deepEqual({ ...ev.args, result: undefined }, { migrationId: 1, step: Step.ROLLBACK_SOURCE, attempt: 1, ok: true, result: undefined });
  assert.equal(ev.from.role, 'compute');
});

test('a repeated lightweight call does not run the work twice but reports the outcome again', async () => {
  const before = received.filter((m) => m.method === 'step_result').length;
  // Were the work to run again, this injected failure would make its outcome a failure.
  driver.faults.fail('rollbackSource', { message: 'ran twice' });
  await rpc.lcall(computeTopic('h1'), Step.ROLLBACK_SOURCE, { migrationId: 1, attempt: 1, instance }, { version: '1.0' });
  const again = await waitFor('the re-reported outcome', async () => received.filter((m) => m.method === 'step_result')[before]);
  assert.equal(again.args['ok'], true, 'the recorded outcome, not a second run');
});

test('bad messages get errors that name the problem, and the server keeps serving', async () => {
  const bad = async (method: string, args: Record<string, unknown>, version = '1.0') =>
    rpc.call(computeTopic('h1'), method, args, { version, timeoutMs: 1000 }).then(() => assert.fail('accepted'), (e: unknown) => e as BatonError);
  let e = await bad('no_such_method', {});
  assert.equal(e.code, 'InvalidRequest');
  assert.match(e.message, /unknown method "no_such_method"/);
  e = await bad(Step.CHECK_SOURCE, { migrationId: 'one', attempt: 1, instance });
  assert.match(e.message, /check_can_live_migrate_source: invalid argument \/migrationId/);
  e = await bad(Step.CHECK_SOURCE, { migrationId: 1, attempt: 1, instance }, '2.0');
  assert.equal(e.code, 'UnsupportedVersion');
  assert.match(e.message, /handles up to 1\.0/);
  e = await bad(Step.CHECK_SOURCE, { migrationId: 1, attempt: 1, instance }, 'one');
  assert.match(e.message, /malformed version/);
  await assert.rejects(rpc.lcall(computeTopic('h1'), Step.CHECK_SOURCE, { migrationId: 1, attempt: 1, instance }, { version: '1.0' }),
    /must be sent as call, not lcall/);
  const ok = await rpc.call<{ memoryMb: number }>(computeTopic('h1'), Step.CHECK_SOURCE, { migrationId: 9, attempt: 1, instance }, { version: '1.0' });
  assert.equal(ok.memoryMb, 64, 'still serving after the bad ones');
});

test('a call past its deadline rejects with MessagingTimeout', async () => {
  const release = driver.faults.hang('checkSource');
  try {
    await assert.rejects(rpc.call(computeTopic('h1'), Step.CHECK_SOURCE, { migrationId: 10, attempt: 1, instance }, { version: '1.0', timeoutMs: 50 }),
      (e: unknown) => e instanceof BatonError && e.code === 'MessagingTimeout' && /check_can_live_migrate_source/.test(e.message));
  } finally {
    release();
  }
});

test('the in-process transport serializes: handlers never share objects with the sender', async () => {
  const t = bus.transport();
  const sent = { nested: { n: 1 } };
  let got: unknown;
  await t.serve('echo', async (m) => { got = m.args; (m.args['nested'] as { n: number }).n = 2; return { ok: true, result: m.args }; });
  const reply = await t.request('echo', { v: '1.0', id: 'x', method: 'echo', kind: 'call', from: { role: 'cli', host: 't' }, args: sent }, 1000);
  assert.notEqual(got, sent);
  assert.equal(sent.nested.n, 1, 'the receiver mutated its own copy only');
  assert.deepEqual(reply, { ok: true, result: { nested: { n: 2 } } });
});

/**
 * A compute agent killed as an OS process (SIGKILL) in the middle of a live migration, with real QEMU guests
 * and `baton compute --driver qemu` processes on RabbitMQ; the test stands in for the conductor. The QEMUs
 * outlive the agent; the restarted agent resumes the acknowledged step from its journal and QEMU's facts.
 * At every sample at most one QEMU of the guest runs, the step is never `unknown`, and the guest ends on
 * the destination, its counter continuing from the source's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { GuestSpec } from '../../src/compute/driver-port.js';
import { instancePaths } from '../../src/compute/drivers/qemu/qemu-instance.js';
import { QmpClient } from '../../src/compute/drivers/qemu/qmp-client.js';
import { Step } from '../../src/core/migration-steps.js';
import type { StepStatusReply } from '../../src/rpc/compute-api.js';
import { ConductorMethod, StepResultArgs } from '../../src/rpc/conductor-api.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { CONDUCTOR_TOPIC, computeTopic, type Envelope } from '../../src/rpc/transport.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { ProcessGroup, type BatonProcess } from '../distributed/process-harness.js';
import { AmqpRun, IN_CI, rabbitUnreachable } from '../transport/amqp-fixture.js';
import { buildGuest, counterAdvances, FAST_POLICY, IMAGES, qemuPidsUnder, readSerial } from './qemu-harness.js';

const unreachable = await rabbitUnreachable();
const skip = unreachable !== null && !IN_CI ? `${unreachable} (set CI=true to make this a failure)` : false;
const isStepResult = TypeCompiler.Compile(StepResultArgs);

describe('qemu compute agent SIGKILLed mid-migration (processes on RabbitMQ)', { skip, timeout: 180_000 }, () => {
  const dir = mkdtempSync('/tmp/bqk-');
  const run = new AmqpRun();
  const group = new ProcessGroup();
  const received: Envelope[] = [];
  let rpc: RpcClient;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    if (unreachable !== null) throw new Error(unreachable);
    buildGuest();
    const t = await run.transport();
    for (const topic of [CONDUCTOR_TOPIC, computeTopic('a'), computeTopic('b')]) run.topic(topic);
    await t.serve(CONDUCTOR_TOPIC, async (m) => { received.push(m); return { ok: true, result: null }; });
    rpc = new RpcClient(t, { role: 'conductor', host: 'test' });
    const config = join(dir, 'baton.json');
    writeFileSync(config, JSON.stringify({
      transport: { url: process.env.BATON_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', exchange: run.exchange },
      compute: { stateDir: join(dir, 'c'), reportIntervalMs: 1000, progressIntervalMs: 100,
        // 8 MiB/s: the hot guest cannot converge until force-complete pauses it, so the copy is in flight when killed.
        qemu: { accel: 'tcg', images: IMAGES, policy: { ...FAST_POLICY, maxBandwidthMibps: 8 }, resources: { memoryMb: 1024, vcpus: 2, diskGb: 10 } } },
    }));
    env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BATON'))), BATON_CONFIG: config, BATON_LOG_LEVEL: 'warn' };
  });

  const samplers: { stop(): Promise<unknown> }[] = [];
  after(async () => {
    for (const s of samplers) await s.stop().catch(() => undefined);
    await group.stopAll();
    for (const pid of qemuPidsUnder(dir)) process.kill(pid, 'SIGKILL');
    await run.cleanup().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const stateDir = (host: string) => join(dir, 'c', host, 'qemu');
  const compute = async (host: string): Promise<BatonProcess> => {
    const p = group.start(host, ['compute', '--host', host, '--driver', 'qemu'], env);
    await p.waitFor(/ ready: /, 60_000);
    return p;
  };
  const call = <T>(host: string, method: string, args: Record<string, unknown>) =>
    rpc.call<T>(computeTopic(host), method, args, { version: '1.0', timeoutMs: 30_000 });
  const lcall = (host: string, method: string, args: Record<string, unknown>) =>
    rpc.lcall(computeTopic(host), method, args, { version: '1.0', timeoutMs: 10_000 });
  const result = (migrationId: number, step: string) => waitFor(`step_result ${step}`, async () => received
    .flatMap((m) => (m.method === ConductorMethod.STEP_RESULT && isStepResult.Check(m.args) ? [m.args] : []))
    .find((r) => r.migrationId === migrationId && r.step === step), 60_000, 50);

  /** QEMU's run state of the guest on each host, read on the observers' monitor. */
  async function runStates(uuid: string): Promise<string[]> {
    const states: string[] = [];
    for (const host of ['a', 'b']) {
      const qmp = await QmpClient.connect(instancePaths(stateDir(host), uuid).observeSocket, 1_000).catch(() => null);
      if (!qmp) continue;
      states.push(await qmp.execute<{ status: string }>('query-status').then((s) => `${host}:${s.status}`, () => `${host}:?`));
      qmp.close();
    }
    return states;
  }

  /** Samples the run states until stopped; fails the test if two QEMUs ever run the guest at once. */
  function sampler(uuid: string): { stop(): Promise<string[][]> } {
    const seen: string[][] = [];
    let on = true;
    const loop = (async () => {
      while (on) {
        const s = await runStates(uuid);
        seen.push(s);
        assert.ok(s.filter((x) => x.endsWith(':running')).length <= 1, `two running copies: ${s.join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const handle = { async stop() { on = false; await loop; return seen; } };
    samplers.push(handle);
    return handle;
  }

  async function startedGuest(migrationId: number): Promise<{ spec: GuestSpec; instance: Record<string, unknown> }> {
    const spec: GuestSpec = { uuid: randomUUID(), name: `vm-${migrationId}`, vcpus: 1, memoryMb: 64, diskGb: 0, imageRef: 'hot' };
    await call('a', 'spawn_instance', { guest: spec });
    await counterAdvances(join(stateDir('a'), 'instances', spec.uuid, 'serial.log'), 2);
    return { spec, instance: { uuid: spec.uuid, name: spec.name, flavor: { id: '1', name: 'q', vcpus: 1, memoryMb: 64, diskGb: 0 }, imageRef: 'hot' } };
  }

  function assertCounterContinues(uuid: string): void {
    const src = readSerial(join(stateDir('a'), 'instances', uuid, 'serial.log')).counters;
    const dst = readSerial(join(stateDir('b'), 'instances', uuid, 'serial.log')).counters;
    assert.ok(dst.length > 0 && dst[0]! > (src.at(-1) ?? 0), `the destination continues (source ended at ${src.at(-1)}, destination began at ${dst[0]})`);
  }

  test('the source agent dies right after acknowledging live_migration; the copy ends once, on the destination', async () => {
    let a = await compute('a');
    await compute('b');
    const m = 1;
    const { spec, instance } = await startedGuest(m);
    const pre = await call<Record<string, unknown>>('b', Step.PRE, { migrationId: m, attempt: 1, instance });
    const watch = sampler(spec.uuid);
    await lcall('a', Step.MIGRATE, { migrationId: m, attempt: 1, instance, dest: { host: 'b' }, migrateData: pre });
    await waitFor('progress of the copy', async () => received.some((e) => e.method === ConductorMethod.PROGRESS), 30_000, 50);
    await a.crash();
    assert.deepEqual((await runStates(spec.uuid)).sort(), ['a:running', 'b:inmigrate'], 'QEMU keeps copying without its agent');

    a = await compute('a');
    const status = await call<StepStatusReply>('a', 'get_step_status', { migrationId: m, step: Step.MIGRATE, attempt: 1 });
    assert.equal(status.state, 'running', 'the restarted agent knows the step it acknowledged');
    await call('a', Step.FORCE_COMPLETE, { migrationId: m, attempt: 1, instance });
    const done = await result(m, Step.MIGRATE);
    assert.equal(done.ok, true, JSON.stringify(done.error));
    assert.equal((await call<StepStatusReply>('a', 'get_step_status', { migrationId: m, step: Step.MIGRATE, attempt: 1 })).state, 'done');
    await lcall('b', Step.POST_DEST, { migrationId: m, attempt: 1, instance });
    await lcall('a', Step.POST_SOURCE, { migrationId: m, attempt: 1, instance });
    assert.equal((await result(m, Step.POST_DEST)).ok, true);
    assert.equal((await result(m, Step.POST_SOURCE)).ok, true);
    await counterAdvances(join(stateDir('b'), 'instances', spec.uuid, 'serial.log'), 3);
    const seen = await watch.stop();
    assert.ok(seen.length > 10, `${seen.length} samples`);
    assert.deepEqual(await runStates(spec.uuid), ['b:running']);
    assert.equal(qemuPidsUnder(stateDir('a')).length, 0, 'the source QEMU is gone');
    assertCounterContinues(spec.uuid);
  });

  test('the destination agent dies after pre_live_migration; the restarted one finishes the arrival', async () => {
    const m = 2;
    const { spec, instance } = await startedGuest(m);
    let b = group.all.filter((p) => p.name === 'b').at(-1)!;
    const pre = await call<Record<string, unknown>>('b', Step.PRE, { migrationId: m, attempt: 1, instance });
    await b.crash();
    const watch = sampler(spec.uuid);
    await lcall('a', Step.MIGRATE, { migrationId: m, attempt: 1, instance, dest: { host: 'b' }, migrateData: pre });
    await waitFor('progress of the copy', async () => received.some((e) => e.method === ConductorMethod.PROGRESS && e.args['migrationId'] === m), 30_000, 50);
    await call('a', Step.FORCE_COMPLETE, { migrationId: m, attempt: 1, instance });
    assert.equal((await result(m, Step.MIGRATE)).ok, true);

    b = await compute('b');
    const again = await call<Record<string, unknown>>('b', Step.PRE, { migrationId: m, attempt: 1, instance });
    assert.deepEqual(again, pre, 'the restarted agent answers pre_live_migration from its journal');
    await lcall('b', Step.POST_DEST, { migrationId: m, attempt: 1, instance });
    await lcall('a', Step.POST_SOURCE, { migrationId: m, attempt: 1, instance });
    assert.equal((await result(m, Step.POST_DEST)).ok, true);
    assert.equal((await result(m, Step.POST_SOURCE)).ok, true);
    await counterAdvances(join(stateDir('b'), 'instances', spec.uuid, 'serial.log'), 3);
    await watch.stop();
    assert.deepEqual(await runStates(spec.uuid), ['b:running']);
    assertCounterContinues(spec.uuid);
  });
});

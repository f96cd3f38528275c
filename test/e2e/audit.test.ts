/**
 * The reconciler end to end on the embedded cluster: real anomalies made with the fake drivers are
 * found, repaired where the facts leave one answer, reported where they do not; a clean cluster audits
 * empty; passes also run on the timer and when a compute restarts.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { ComputeAgent } from '../../src/compute/compute-agent.js';
import type { AuditPass } from '../../src/core/audit-report.js';
import { Step } from '../../src/core/migration-steps.js';
import { ConductorMethod } from '../../src/rpc/conductor-api.js';
import type { Transport } from '../../src/rpc/transport.js';
import { liveMigrate, waitFor, waitForMigration } from '../../src/services/cluster-ops.js';
import { bootOn, HOSTS, startFixture, whereIs, type Fixture } from '../support/embedded-fixture.js';
import { assertCleanAudit, repairsDuring } from '../support/clean-audit.js';

const anomalies = (p: AuditPass) => p.anomalies.map((a) => [a.kind, a.severity, a.instanceUuid, [...a.hosts]]);

/** A pass asked for now, with the repairs it made. */
async function audit(f: Fixture) {
  const { result: pass, repairs } = await repairsDuring(f.cluster.store, () => f.cluster.conductor.runAudit());
  return { pass, repairs };
}

/** Replaces `host`'s agent with one whose step results never reach the conductor (the conductor asks only after its deadline). */
async function agentWithLostReports(f: Fixture, host: string): Promise<ComputeAgent> {
  await f.cluster.computes.get(host)!.stop();
  const bus = f.cluster.bus.transport();
  const lossy: Transport = {
    serve: (t, h) => bus.serve(t, h), request: (t, m, ms) => bus.request(t, m, ms), close: () => bus.close(),
    publish: async (t, m) => (m.method === ConductorMethod.STEP_RESULT ? undefined : bus.publish(t, m)),
  };
  const agent = new ComputeAgent({ host, hostIp: '127.0.0.1', driver: f.fake(host), transport: lossy, journal: f.cluster.journals.get(host)!,
    clock: { now: () => Date.now(), sleep: async () => undefined }, ratios: { cpu: 16, ram: 1.5, disk: 1 }, reportIntervalMs: 60_000,
    progressIntervalMs: 1_000 });
  await agent.start();
  return agent;
}

/** A migration whose copy finished (destination runs, source postmigrate) while the workflow, not told, still waits in `running`. */
async function unreportedSwitchOver(f: Fixture) {
  const vm = await bootOn(f, 'host-a', 'unreported');
  const agent = await agentWithLostReports(f, 'host-a');
  const m = await requestLiveMigration(f.cluster.requests, { instanceUuid: vm.uuid, host: 'host-b', blockMigration: false, projectId: 'p', userId: 'u' });
  await waitFor('the copy to finish on the hypervisors', async () => {
    const seen = await whereIs(f, vm.uuid);
    return seen['host-a'] === 'postmigrate' && seen['host-b'] === 'running';
  });
  const row = (await f.cluster.store.repo.getMigration(m.id))!;
  assert.deepEqual([row.status, row.state.switchedOver], ['running', false], 'the workflow does not know yet');
  return { vm, m, agent };
}

describe('audit on demand', () => {
  let f: Fixture;
  // A timer far away: every pass in these tests is one the test asked for.
  beforeEach(async () => {
    f = await startFixture({ conductor: { tickMs: 20, reconcileIntervalMs: 3_600_000,
      workflow: { postTimeoutMs: 200, queryTimeoutMs: 100, maxQueries: 1, maxAttempts: 2, retryBackoffMs: 20 } } });
  });
  afterEach(async () => f.stop());

  test('a clean cluster audits empty: every host checked, nothing unreachable, nothing repaired', async () => {
    const vm = await bootOn(f, 'host-a', 'clean');
    const m = await liveMigrate(f.cluster.requests, vm.uuid, 'host-b');
    assert.equal(m.status, 'completed', m.error ?? '');
    const pass = await assertCleanAudit(f.cluster);
    assert.deepEqual(pass.hostsChecked, [...HOSTS]);
    assert.deepEqual(pass.unreachable, []);
    assert.deepEqual(await f.cluster.store.repo.getAuditPass(), pass, 'the pass is stored');
  });

  test('a postmigrate copy left on the source after a terminal migration is destroyed and recorded', async () => {
    const vm = await bootOn(f, 'host-a', 'stray');
    f.fake('host-a').faults.fail('cleanupSource', { times: 2, message: 'injected: cannot remove the source' });
    const m = await liveMigrate(f.cluster.requests, vm.uuid, 'host-b');
    assert.equal(m.status, 'error', m.error ?? '');
    assert.ok((await f.cluster.store.repo.listSteps(m.id)).filter((s) => s.step === Step.POST_SOURCE).every((s) => s.status === 'failed'));
    assert.deepEqual(await whereIs(f, vm.uuid), { 'host-a': 'postmigrate', 'host-b': 'running' }, 'the stray exists');
    const { pass, repairs: [r, ...more] } = await audit(f);
    assert.deepEqual(anomalies(pass), []);
    assert.deepEqual(await whereIs(f, vm.uuid), { 'host-b': 'running' }, 'the stray is gone, the running copy kept');
    assert.deepEqual(more, []);
    assert.deepEqual([r?.kind, r?.host, r?.instanceUuid, r?.migrationId], ['destroy-stray', 'host-a', vm.uuid, m.id]);
    assert.match(r!.message, new RegExp(`destroyed the postmigrate copy .* on host-a: it runs on host-b; migration ${m.id} .* ended error`));
    await assertCleanAudit(f.cluster);
  });

  test('a claim left behind by a finished migration is released and recorded', async () => {
    const vm = await bootOn(f, 'host-a', 'claimed');
    const m = await liveMigrate(f.cluster.requests, vm.uuid, 'host-c');
    assert.equal(m.status, 'completed');
    await f.cluster.store.repo.insertClaim({ migrationId: m.id, host: 'host-c', instanceUuid: vm.uuid, vcpus: 1, memoryMb: 2048, diskGb: 20 }, Date.now());
    await f.cluster.store.repo.insertClaim({ migrationId: 99_999, host: 'host-b', instanceUuid: vm.uuid, vcpus: 1, memoryMb: 512, diskGb: 1 }, Date.now());
    const { pass, repairs } = await audit(f);
    assert.deepEqual(anomalies(pass), []);
    assert.deepEqual(await f.cluster.store.repo.listClaims(), [], 'no claim left');
    assert.deepEqual(repairs.map((r) => [r.kind, r.migrationId, r.host]),
      [['delete-claim', m.id, 'host-c'], ['delete-claim', 99_999, 'host-b']]);
    await assertCleanAudit(f.cluster);
  });

  test('a record naming a host without the guest is corrected to the host where it runs', async () => {
    const vm = await bootOn(f, 'host-a', 'misrecorded');
    await f.cluster.store.repo.updateInstance(vm.uuid, { host: 'host-c', updatedAt: Date.now() });
    const { pass, repairs } = await audit(f);
    assert.deepEqual(anomalies(pass), []);
    assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-a', 'facts beat memory');
    assert.deepEqual(repairs.map((r) => [r.kind, r.host, r.instanceUuid]), [['fix-host', 'host-a', vm.uuid]]);
    assert.match(repairs[0]!.message, /runs only on host-a; its record named host-c and now names host-a/);
    await assertCleanAudit(f.cluster);
  });

  test('two running copies: a critical anomaly naming both hosts, nothing destroyed, the record untouched', async () => {
    const vm = await bootOn(f, 'host-a', 'twice');
    await f.fake('host-b').spawn({ uuid: vm.uuid, name: vm.name, vcpus: 1, memoryMb: 2048, diskGb: 20, imageRef: vm.imageRef });
    const { pass, repairs } = await audit(f);
    assert.deepEqual(anomalies(pass), [['two-running-copies', 'critical', vm.uuid, ['host-a', 'host-b']]]);
    assert.match(pass.anomalies[0]!.message, /runs on 2 hosts: host-a \(running\), host-b \(running\); the record names host-a/);
    assert.deepEqual(await whereIs(f, vm.uuid), { 'host-a': 'running', 'host-b': 'running' }, 'never auto-fixed');
    assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-a');
    assert.deepEqual(repairs, []);
    assert.deepEqual((await f.cluster.store.repo.getAuditPass())?.anomalies, pass.anomalies, 'the anomaly is stored with the pass');
    // The operator keeps one copy; the next pass is clean again and replaces the stored anomalies.
    await f.fake('host-b').destroy(vm.uuid);
    await assertCleanAudit(f.cluster);
    assert.deepEqual((await f.cluster.store.repo.getAuditPass())?.anomalies, []);
  });

  test('a destination that runs the guest before the workflow switched over: the fact is fed to the workflow and recorded', async () => {
    const { vm, m, agent } = await unreportedSwitchOver(f);
    try {
      const { pass, repairs } = await audit(f);
      assert.deepEqual(anomalies(pass), [], 'a live migration is not an anomaly');
      assert.deepEqual(repairs.map((r) => [r.kind, r.migrationId, r.host, r.instanceUuid]), [['switched-over', m.id, 'host-b', vm.uuid]]);
      assert.match(repairs[0]!.message, /host-b lists the guest running; host-a lists it postmigrate/);
      assert.deepEqual(await whereIs(f, vm.uuid), { 'host-a': 'postmigrate', 'host-b': 'running' }, 'nothing destroyed while the migration is live');
    } finally {
      await agent.stop();
    }
  });

  test('... and the workflow then flips the record and completes through the post steps', async () => {
    const { vm, m, agent } = await unreportedSwitchOver(f);
    try {
      await f.cluster.conductor.runAudit();
      const end = await waitForMigration(f.cluster.store, m.id, 3_000);
      assert.equal(end.status, 'completed', end.error ?? '');
      assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-b');
      assert.deepEqual(await whereIs(f, vm.uuid), { 'host-b': 'running' });
      await assertCleanAudit(f.cluster);
    } finally {
      await agent.stop();
    }
  });

  test('a compute that does not answer is reported unreachable, and its guests are not called missing', async () => {
    await bootOn(f, 'host-c', 'behind-silence');
    await f.cluster.computes.get('host-c')!.stop();
    const pass = await f.cluster.conductor.runAudit();
    assert.deepEqual(anomalies(pass), []);
    assert.deepEqual(pass.unreachable, [{ host: 'host-c', reason: 'no answer within 100 ms' }]);
    assert.deepEqual(pass.hostsChecked, ['host-a', 'host-b']);
  });
});

describe('audit passes the conductor starts itself', () => {
  let f: Fixture;
  afterEach(async () => f.stop());

  test('on its timer: a leaked claim is released without anyone asking', async () => {
    f = await startFixture({ conductor: { reconcileIntervalMs: 50 } });
    const vm = await bootOn(f, 'host-a', 'timer');
    await f.cluster.store.repo.insertClaim({ migrationId: 4242, host: 'host-b', instanceUuid: vm.uuid, vcpus: 1, memoryMb: 512, diskGb: 1 }, Date.now());
    await waitFor('the periodic pass to release the claim', async () => (await f.cluster.store.repo.listClaims()).length === 0, 5_000, 20);
    const [r] = await f.cluster.store.repo.listAuditRepairs(1);
    assert.deepEqual([r?.kind, r?.migrationId, r?.conductor], ['delete-claim', 4242, 'conductor-0']);
  });

  test('when a compute reports a new boot: its guests are compared again at once', async () => {
    f = await startFixture({ conductor: { reconcileIntervalMs: 3_600_000 } });
    const vm = await bootOn(f, 'host-a', 'reboot');
    await f.cluster.store.repo.updateInstance(vm.uuid, { host: 'host-b', updatedAt: Date.now() });
    assert.equal(await f.cluster.store.repo.getAuditPass(), undefined, 'no pass has run yet');
    // The agent of host-a restarts on the same hypervisor: its first report carries a new start time.
    const old = f.cluster.computes.get('host-a')!;
    await old.stop();
    await new Promise((r) => setTimeout(r, 5));
    const agent = new ComputeAgent({ host: 'host-a', hostIp: '127.0.0.1', driver: f.fake('host-a'), transport: f.cluster.bus.transport(),
      journal: f.cluster.journals.get('host-a')!,
      clock: { now: () => Date.now(), sleep: async () => undefined }, ratios: { cpu: 16, ram: 1.5, disk: 1 }, reportIntervalMs: 60_000,
      progressIntervalMs: 1_000 });
    await agent.start();
    try {
      const pass = await waitFor('a pass after the restart', async () => f.cluster.store.repo.getAuditPass(), 5_000, 20);
      assert.deepEqual(anomalies(pass), []);
      assert.equal((await f.cluster.store.repo.getInstance(vm.uuid))!.host, 'host-a', 'the record follows the guest');
    } finally {
      await agent.stop();
    }
  });
});

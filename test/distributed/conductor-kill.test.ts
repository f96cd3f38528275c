/**
 * Issue 8's conductor fault acceptance: a conductor SIGKILLed as an OS process while it drives a live
 * migration (during the copy, then during the post steps) with a second conductor running, on RabbitMQ +
 * PostgreSQL with `baton compute --driver fake` hosts. The survivor finishes both from the journal; each post
 * step runs once in effect on its host (the computes log every execution of a step's work), the record and the
 * drivers agree, and the audit is empty.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { requestCreateServer } from '../../src/api/server-request.js';
import { Step } from '../../src/core/migration-steps.js';
import { isTerminal } from '../../src/core/migration-status.js';
import type { Instance } from '../../src/core/model.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import type { MigrationRow } from '../../src/store/store.js';
import { gate, AMQP_URL, PG_URL, requireService } from '../store/service-gate.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import { Deployment } from './deployment.js';
import type { BatonProcess } from './process-harness.js';

const pgGate = await gate('PostgreSQL', PG_URL, 5432);
const amqpGate = await gate('RabbitMQ', AMQP_URL, 5672);
const HOSTS = ['k1', 'k2'] as const;
/** Post steps take this long on the hosts, so a conductor can be killed while they run. */
const POST_DELAY_MS = 6000;

describe('a conductor SIGKILLed mid-migration, a second one running', { skip: pgGate.skip || amqpGate.skip, timeout: 300_000 }, () => {
  const dep = new Deployment({
    conductor: { workflow: { migrateStallMs: 3000, queryTimeoutMs: 1000, retryBackoffMs: 300, postTimeoutMs: 2000, maxAttempts: 10 } },
    compute: {
      // m1.small is 2 GiB: at 256 MiB/s the simulated copy takes 8 s of wall time.
      fake: { bandwidthMibs: 256, realTime: true, faults: [
        { op: 'cleanupSource', action: 'delay', ms: POST_DELAY_MS, times: 100 },
        { op: 'finishIncoming', action: 'delay', ms: POST_DELAY_MS, times: 100 },
      ] },
    },
  });
  const computes = new Map<string, BatonProcess>();
  let driving: BatonProcess;

  before(async () => {
    requireService(pgGate);
    requireService(amqpGate);
    await dep.open();
    driving = await dep.startConductor('c1');
    for (const h of HOSTS) computes.set(h, await dep.startCompute(h, { driver: 'fake' }));
    await dep.waitForHosts(HOSTS);
  });

  after(async () => dep.stop());

  async function boot(name: string, host: string): Promise<Instance> {
    const created = await requestCreateServer(dep.requests, { name, flavorRef: 'm1.small', imageRef: 'cirros', host, projectId: 'p', userId: 'u' });
    return waitFor(`${name} to become active`, async () => {
      const i = await dep.store.repo.getInstance(created.uuid);
      if (i?.vmState === 'error') throw new Error(`${name} failed to build:\n${dep.tails()}`);
      return i?.vmState === 'active' ? i : undefined;
    }, 30_000, 50);
  }

  async function until(id: number, what: string, ok: (steps: Awaited<ReturnType<typeof dep.store.repo.listSteps>>) => boolean): Promise<void> {
    await waitFor(`${what} in migration ${id}`, async () => ok(await dep.store.repo.listSteps(id)), 60_000, 20);
  }

  /** Lines in which `host`'s compute started the work of `step` of migration `id`. */
  function executions(host: string, id: number, step: string): number {
    const re = new RegExp(`executing ${step} of migration ${id} \\(`);
    return computes.get(host)!.output.filter((l) => re.test(l)).length;
  }

  /** Kills the conductor that drives migration `id` once `moment` holds, with a fresh one already serving. */
  async function killDuring(vm: Instance, dest: string, moment: (steps: Awaited<ReturnType<typeof dep.store.repo.listSteps>>) => boolean,
    name: string): Promise<MigrationRow> {
    const req = await requestLiveMigration(dep.requests, { instanceUuid: vm.uuid, host: dest, blockMigration: 'auto', projectId: 'p', userId: 'u' });
    await until(req.id, 'the kill moment', moment);
    const survivor = await dep.startConductor(name);
    assert.ok(moment(await dep.store.repo.listSteps(req.id)), 'still in the window when the second conductor is up');
    await driving.crash();
    driving = survivor;
    return waitFor(`migration ${req.id} to end`, async () => {
      const r = await dep.store.repo.getMigration(req.id);
      return r && isTerminal(r.status) ? r : undefined;
    }, 90_000, 50);
  }

  async function checkCompleted(vm: Instance, m: MigrationRow, source: string, dest: string): Promise<void> {
    const steps = await dep.store.repo.listSteps(m.id);
    assert.equal(m.status, 'completed', `${m.error ?? ''}\n${JSON.stringify(steps)}\n${dep.tails()}`);
    const inst = (await dep.store.repo.getInstance(vm.uuid))!;
    assert.deepEqual([inst.host, inst.taskState], [dest, null]);
    for (const step of [Step.POST_SOURCE, Step.POST_DEST]) assert.ok(steps.some((s) => s.step === step && s.status === 'done'), `${step} done`);
    assert.equal(executions(source, m.id, Step.POST_SOURCE), 1, 'post_live_migration_at_source ran once on the source');
    assert.equal(executions(dest, m.id, Step.POST_DEST), 1, 'post_live_migration_at_destination ran once on the destination');
    assert.equal(executions(source, m.id, Step.MIGRATE), 1, 'the copy ran once');
    assert.deepEqual(await dep.store.repo.listClaims(), [], 'no claim left');
    await assertCleanAudit(dep.audited);
  }

  it('during live_migration: the survivor finishes it, every step once', { timeout: 120_000 }, async () => {
    const vm = await boot('ck-1', 'k1');
    const migrating = (steps: { step: string; status: string }[]) => steps.some((s) => s.step === Step.MIGRATE && s.status === 'acked');
    const m = await killDuring(vm, 'k2', migrating, 'c2');
    await checkCompleted(vm, m, 'k1', 'k2');
  });

  it('during the post steps: the survivor finishes it, each post step once in effect', { timeout: 120_000 }, async () => {
    const vm = await boot('ck-2', 'k1');
    const posting = (steps: { step: string; status: string }[]) => [Step.POST_SOURCE, Step.POST_DEST]
      .every((p) => steps.some((s) => s.step === p && s.status === 'acked'));
    const m = await killDuring(vm, 'k2', posting, 'c3');
    await checkCompleted(vm, m, 'k1', 'k2');
  });
});

/**
 * Issue 8's fault acceptance on real QEMU: a compute agent SIGKILLed mid-migration, then started again,
 * with a conductor and two `baton compute --driver qemu` hosts as OS processes on RabbitMQ + PostgreSQL.
 * QEMU outlives its agent (it runs detached), so the copy goes on without it; the restarted agent must
 * learn from its journal and from QEMU what became of the step, never resume a source whose state moved,
 * never destroy the only running copy. An observer watches both QEMUs through their observer monitors the
 * whole time: at most one ever runs the guest, and the guest's counter never advances on two hosts.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { Step } from '../../src/core/migration-steps.js';
import { isTerminal } from '../../src/core/migration-status.js';
import type { Instance } from '../../src/core/model.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import type { MigrationRow } from '../../src/store/store.js';
import { counterAdvances } from '../qemu/qemu-harness.js';
import { GuestObserver } from '../qemu/qemu-observer.js';
import { gate, AMQP_URL, PG_URL, requireService } from '../store/service-gate.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import { QemuFleet } from './qemu-fleet.js';

const pgGate = await gate('PostgreSQL', PG_URL, 5432);
const amqpGate = await gate('RabbitMQ', AMQP_URL, 5672);
const HOSTS = ['qa', 'qb'] as const;

describe('qemu: a compute agent SIGKILLed mid-migration', { skip: pgGate.skip || amqpGate.skip, timeout: 400_000 }, () => {
  // At 10 MiB/s each pass of the steady guest is 4/5 of the last, so the copy takes seconds.
  const fleet = new QemuFleet(10);
  const { dep } = fleet;
  const stateDir = (h: string) => fleet.stateDir(h);

  before(async () => {
    requireService(pgGate);
    requireService(amqpGate);
    await fleet.start('c1', HOSTS);
  });

  after(async () => dep.stop());

  async function stepReached(id: number, step: string, status: string): Promise<void> {
    await waitFor(`${step} ${status} in migration ${id}`, async () =>
      (await dep.store.repo.listSteps(id)).some((s) => s.step === step && (s.status === status || s.status === 'done')), 60_000, 10);
  }

  /** The assertions of the issue, whatever path the migration took. */
  async function checkOutcome(vm: Instance, m: MigrationRow, observer: GuestObserver): Promise<void> {
    await observer.stop();
    const inst = (await dep.store.repo.getInstance(vm.uuid))!;
    const steps = await dep.store.repo.listSteps(m.id);
    const why = `migration ${m.id} ${m.status}: ${m.error ?? ''}\n${JSON.stringify(steps)}\n${dep.tails()}`;
    assert.ok(m.status === 'completed' || (m.status === 'failed' && inst.host === 'qa'), why);
    const peak = observer.maxRunning();
    assert.ok(peak.count <= 1, `two QEMUs ran the guest at once: ${JSON.stringify(peak.sample)}`);
    assert.ok(observer.samples.length > 20, `the observer sampled (${observer.samples.length})`);
    // The observer is not blind: it saw the guest run on the source, and on the destination if it moved.
    const ranOn = new Set(observer.samples.flatMap((x) => Object.entries(x.states).filter(([, st]) => st === 'running').map(([h]) => h)));
    assert.ok(ranOn.has('qa') && (inst.host === 'qa' || ranOn.has(inst.host!)), `running seen on ${[...ranOn].join(', ')}`);
    const final = await observer.states();
    const running = Object.entries(final).filter(([, s]) => s === 'running').map(([h]) => h);
    assert.deepEqual(running, [inst.host], `exactly one running QEMU, on the recorded host: ${JSON.stringify(final)}`);
    await counterAdvances(fleet.serialLog(inst.host!, vm.uuid), 3, 20_000);
    assert.equal(observer.counterOverlap(), null);
    await assertCleanAudit(dep.audited);
  }

  async function migrateWithKill(name: string, killAt: { step: string; status: string }, victim: string): Promise<void> {
    const vm = await fleet.boot(name, 'qa', 20);
    const observer = new GuestObserver(vm.uuid, Object.fromEntries(HOSTS.map((h) => [h, stateDir(h)])));
    observer.start();
    const req = await requestLiveMigration(dep.requests, { instanceUuid: vm.uuid, host: 'qb', blockMigration: 'auto', projectId: 'p', userId: 'u' });
    await stepReached(req.id, killAt.step, killAt.status);
    await fleet.restartAgent(victim, 1000);
    const m = await waitFor(`migration ${req.id} to end`, async () => {
      const r = await dep.store.repo.getMigration(req.id);
      return r && isTerminal(r.status) ? r : undefined;
    }, 120_000, 50);
    console.log(`# ${name}: ${m.status} in ${m.updatedAt - m.createdAt} ms, ${observer.samples.length} samples`);
    await checkOutcome(vm, m, observer);
  }

  it('the source agent, right after live_migration is acked: one running copy throughout, on the recorded host', { timeout: 180_000 }, async () => {
    await migrateWithKill('src-kill', { step: Step.MIGRATE, status: 'acked' }, 'qa');
  });

  it('the destination agent, right after pre_live_migration: one running copy throughout, on the recorded host', { timeout: 180_000 }, async () => {
    await migrateWithKill('dst-kill', { step: Step.PRE, status: 'done' }, 'qb');
  });
});

/**
 * The chaos run's small qemu variant: 3 real guests on 3 `baton compute --driver qemu` hosts (OS processes on
 * RabbitMQ + PostgreSQL, one conductor), 15 live migrations (5 rounds, one per guest), with compute agents
 * SIGKILLed mid-migration by a seeded schedule and one RabbitMQ stop_app/start_app. An observer per guest
 * watches every host's QEMU through its observer monitor the whole time: at most one QEMU ever runs a guest,
 * the guest's counter never advances on two hosts, and at the end exactly one QEMU runs each guest, on the
 * recorded host, its counter still advancing; the audit is clean. BATON_CHAOS_SEED replays a seed.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { isTerminal } from '../../src/core/migration-status.js';
import { seededRandom } from '../../src/rpc/transports/fault-transport.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { QemuFleet } from '../distributed/qemu-fleet.js';
import { counterAdvances } from '../qemu/qemu-harness.js';
import { GuestObserver } from '../qemu/qemu-observer.js';
import { gate, AMQP_URL, PG_URL, requireService } from '../store/service-gate.js';
import { assertCleanAudit } from '../support/clean-audit.js';

const run = promisify(execFile);
const pgGate = await gate('PostgreSQL', PG_URL, 5432);
const amqpGate = await gate('RabbitMQ', AMQP_URL, 5672);
const HOSTS = ['qc1', 'qc2', 'qc3'] as const;
const ROUNDS = 5;
const seed = Number(process.env['BATON_CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

describe('chaos run, qemu variant', { skip: pgGate.skip || amqpGate.skip, timeout: 900_000 }, () => {
  const fleet = new QemuFleet(16);
  const { dep } = fleet;
  const stateDir = (h: string) => fleet.stateDir(h);
  let brokerDown = false;

  before(async () => {
    requireService(pgGate);
    requireService(amqpGate);
    await fleet.start('qc-conductor', HOSTS);
  });

  after(async () => {
    if (brokerDown) await run('rabbitmqctl', ['-q', 'start_app']).catch(() => undefined);
    await dep.stop();
  });

  async function restartBroker(downMs: number): Promise<void> {
    brokerDown = true;
    await run('rabbitmqctl', ['-q', 'stop_app']);
    await new Promise((r) => setTimeout(r, downMs));
    await run('rabbitmqctl', ['-q', 'start_app']);
    brokerDown = false;
  }

  it(`15 migrations of 3 guests under agent kills and a broker restart: one running QEMU per guest, counters continue (seed ${seed})`,
    { timeout: 850_000 }, async () => {
      const random = seededRandom(seed);
      const vms = [await fleet.boot('qchaos-1', 'qc1', 5), await fleet.boot('qchaos-2', 'qc2', 5), await fleet.boot('qchaos-3', 'qc3', 5)];
      const observers = vms.map((vm) => new GuestObserver(vm.uuid, Object.fromEntries(HOSTS.map((h) => [h, stateDir(h)]))));
      for (const o of observers) o.start(100);
      const brokerRound = Math.floor(random() * ROUNDS);
      const statuses: string[] = [];
      let kills = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const ids: number[] = [];
        for (const vm of vms) {
          const now = (await dep.store.repo.getInstance(vm.uuid))!;
          const others = HOSTS.filter((h) => h !== now.host);
          const dest = random() < 0.5 ? others[Math.floor(random() * others.length)]! : null;
          ids.push((await requestLiveMigration(dep.requests, { instanceUuid: vm.uuid, host: dest, blockMigration: 'auto', projectId: 'p', userId: 'u' })).id);
        }
        // Mid-round: an agent that is the source or destination of one of this round's migrations dies and comes back.
        await new Promise((r) => setTimeout(r, 500 + Math.floor(random() * 2500)));
        const m = (await dep.store.repo.getMigration(ids[Math.floor(random() * ids.length)]!))!;
        const victim = random() < 0.5 || !m.destCompute ? m.sourceCompute : m.destCompute;
        await fleet.restartAgent(victim, Math.floor(random() * 1500));
        kills++;
        if (round === brokerRound) await restartBroker(1000 + Math.floor(random() * 3000));
        for (const id of ids) {
          const end = await waitFor(`migration ${id} to end`, async () => {
            const r = await dep.store.repo.getMigration(id);
            return r && isTerminal(r.status) ? r : undefined;
          }, 180_000, 100);
          statuses.push(end.status);
        }
      }
      for (const o of observers) await o.stop();
      console.log(`# qemu chaos seed ${seed}: ${statuses.length} migrations (${statuses.join(', ')}), ${kills} agent kills, 1 broker restart`);
      assert.equal(statuses.length, 15);
      for (const [i, vm] of vms.entries()) {
        const o = observers[i]!;
        const inst = (await dep.store.repo.getInstance(vm.uuid))!;
        const peak = o.maxRunning();
        assert.ok(peak.count <= 1, `${vm.name}: two QEMUs ran the guest at once: ${JSON.stringify(peak.sample)}`);
        assert.ok(o.samples.length > 50, `${vm.name}: the observer sampled (${o.samples.length})`);
        const final = await o.states();
        const running = Object.entries(final).filter(([, s]) => s === 'running').map(([h]) => h);
        assert.deepEqual(running, [inst.host], `${vm.name}: exactly one running QEMU, on the recorded host: ${JSON.stringify(final)}\n${dep.tails()}`);
        assert.deepEqual([inst.vmState, inst.taskState], ['active', null], `${vm.name} is active with no task`);
        await counterAdvances(fleet.serialLog(inst.host!, vm.uuid), 3, 30_000);
        assert.equal(o.counterOverlap(), null, `${vm.name}: the counter never advanced on two hosts`);
      }
      assert.deepEqual(await dep.store.repo.listClaims(), [], 'no claim left');
      await assertCleanAudit(dep.audited);
    });
});

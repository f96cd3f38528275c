/**
 * Bad input on the bus, across processes on RabbitMQ + PostgreSQL: malformed, oversized, wrong-version and
 * forged messages published straight to the conductors' queue and every compute's (chaos/bad-input-stage.ts).
 * Each is refused, logged with its reason and kept in the dead-letter queue, none is requeued, a forged step
 * result moves no workflow, and every consumer keeps serving: a live migration requested afterwards completes.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { connect } from 'amqplib';
import { requestLiveMigration } from '../../src/api/live-migration-request.js';
import { requestCreateServer } from '../../src/api/server-request.js';
import { isTerminal } from '../../src/core/migration-status.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { drainDeadLetters, publishBadInput } from '../../chaos/bad-input-stage.js';
import { gate, AMQP_URL, PG_URL, requireService } from '../store/service-gate.js';
import { assertCleanAudit } from '../support/clean-audit.js';
import { Deployment } from './deployment.js';

const pgGate = await gate('PostgreSQL', PG_URL, 5432);
const amqpGate = await gate('RabbitMQ', AMQP_URL, 5672);
const HOSTS = ['b1', 'b2'] as const;

describe('bad input on the bus', { skip: pgGate.skip || amqpGate.skip, timeout: 240_000 }, () => {
  const dep = new Deployment();

  before(async () => {
    requireService(pgGate);
    requireService(amqpGate);
    await dep.open();
    await dep.startConductor('bc1');
    for (const h of HOSTS) await dep.startCompute(h, { driver: 'fake' });
    await dep.waitForHosts(HOSTS);
  });

  after(async () => dep.stop());

  async function migrate(name: string): Promise<number> {
    const created = await requestCreateServer(dep.requests, { name, flavorRef: 'm1.tiny', imageRef: 'cirros', host: 'b1', projectId: 'p', userId: 'u' });
    await waitFor(`${name} active`, async () => (await dep.store.repo.getInstance(created.uuid))?.vmState === 'active', 30_000, 50);
    const req = await requestLiveMigration(dep.requests, { instanceUuid: created.uuid, host: 'b2', blockMigration: 'auto', projectId: 'p', userId: 'u' });
    const m = await waitFor(`migration ${req.id} to end`, async () => {
      const r = await dep.store.repo.getMigration(req.id);
      return r && isTerminal(r.status) ? r : undefined;
    }, 60_000, 50);
    assert.equal(m.status, 'completed', `${m.error ?? ''}\n${dep.tails()}`);
    return req.id;
  }

  it('every bad message is dead-lettered with its reason, none requeued, and every consumer keeps serving', async () => {
    const first = await migrate('bad-1');
    const migrate1 = (await dep.store.repo.listSteps(first)).find((s) => s.step === 'live_migration')!;
    const sent = await publishBadInput({ url: AMQP_URL, exchange: dep.exchange, hosts: HOSTS,
      forgeStepOf: { migrationId: first, step: 'live_migration', attempt: migrate1.attempt } });
    const letters: { topic: string; reason: string }[] = [];
    await waitFor('every bad message in the dead-letter queue', async () => {
      letters.push(...await drainDeadLetters(AMQP_URL, dep.exchange));
      return letters.length >= sent.total;
    }, 30_000, 200);
    assert.equal(letters.length, sent.total, 'one dead letter per bad message, nothing else');
    for (const [topic, n] of Object.entries(sent.published)) assert.equal(letters.filter((l) => l.topic === topic).length, n, `${topic}: all kept`);
    const reasons = letters.map((l) => l.reason).join('\n');
    for (const re of [/not JSON/, /not an Envelope/, /oversized/, /UnsupportedVersion/, /unknown method "format_every_disk"/, /must be sent as/,
      /invalid argument/, /step_result for unknown migration 987654321/, /forged step_result: live_migration .* runs on b1, the report came from intruder-host/]) {
      assert.match(reasons, re);
    }
    const c = await connect(AMQP_URL);
    try {
      const ch = await c.createChannel();
      for (const topic of ['conductor', ...HOSTS.map((h) => `compute.${h}`)]) {
        assert.equal((await ch.checkQueue(`${dep.exchange}.${topic}`)).messageCount, 0, `${topic}: nothing requeued`);
      }
    } finally {
      await c.close();
    }
    const logged = dep.group.all.flatMap((p) => p.output).filter((l) => l.includes('kept in') && l.includes('dead-letter')).length;
    assert.equal(logged, sent.total, 'each refusal is logged with its reason');
    assert.equal((await dep.store.repo.getMigration(first))!.status, 'completed', 'the forged result moved nothing');
    await migrate('bad-2');
    await assertCleanAudit(dep.audited);
  });
});

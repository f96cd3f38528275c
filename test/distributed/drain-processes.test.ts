/**
 * Acceptance of issue 9's server-side drain across processes: api + 2 conductors + 3 fake computes on
 * RabbitMQ and PostgreSQL. Ten instances on h1, one of them made unmovable by a fault rule on h1's compute
 * (its check_can_live_migrate_source always fails). The drain is started through the API; once it is
 * under way the conductor that ran its latest pass is killed with SIGKILL, and the other one finishes it:
 * nine move, and the drain ends `blocked`, naming the tenth and why.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { DrainView } from '../../src/api/http/drain-view.js';
import { isTerminal } from '../../src/core/migration-status.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { AMQP_URL, gate, PG_URL, requireService } from '../store/service-gate.js';
import { ProcessCluster } from './process-cluster.js';

const PINNED = 'drain-vm-9';
const FAULT = `${PINNED} is pinned to h1 (test fault)`;

const pgGate = await gate('PostgreSQL', PG_URL, 5432);
const amqpGate = await gate('RabbitMQ', AMQP_URL, 5672);

describe('drain across processes: a conductor killed mid-drain, one instance unmovable',
  { skip: pgGate.skip || amqpGate.skip, timeout: 300_000 }, () => {
    const c = new ProcessCluster({
      // Short step deadlines: the surviving conductor asks about the steps the killed one was waiting on.
      conductor: { workflow: { checkTimeoutMs: 3000, preTimeoutMs: 3000, migrateStallMs: 3000, postTimeoutMs: 3000,
        rollbackTimeoutMs: 3000, queryTimeoutMs: 1000, retryBackoffMs: 300 }, drain: { pollMs: 1000 } },
      // Every copy takes 300 ms of real time, so the drain (one migration out of h1 at a time) lasts a few seconds.
      compute: { fake: { faults: [{ op: 'migrate.pass', action: 'delay', ms: 300 }] } },
      computeExtra: { h1: { fake: { faults: [
        { op: 'checkSource', action: 'fail', name: PINNED, code: 'MigrationPreCheckError', message: FAULT },
        { op: 'migrate.pass', action: 'delay', ms: 300 },
      ] } } },
    });
    let vms: string[] = [];

    before(async () => {
      requireService(pgGate);
      requireService(amqpGate);
      await c.start(['c1', 'c2'], ['h1', 'h2', 'h3']);
      vms = await c.boot(Array.from({ length: 10 }, (_, i) => `drain-vm-${i}`), 'h1');
    });
    after(async () => { await c.stop(); });

    const drain = async (): Promise<DrainView> => {
      const r = await c.api('GET', '/v2.1/baton/hosts/h1/drain');
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return r.json.drain as DrainView;
    };

    it('nine move, the drain ends blocked naming the tenth and its reason, after its conductor was SIGKILLed', async () => {
      const r = await c.api('POST', '/v2.1/baton/hosts/h1/drain', { drain: { reason: 'hardware swap' } });
      assert.equal(r.status, 202, JSON.stringify(r.json));
      const midway = await waitFor('three instances to move', async () => {
        const d = await drain();
        return d.counts.moved >= 3 ? d : undefined;
      }, 60_000, 100);
      assert.equal(midway.status, 'running');
      const victim = midway.driven_by!;
      const survivor = victim === 'c1' ? 'c2' : 'c1';
      await c.conductors.get(victim)!.crash();
      const killedAt = Date.now();

      const end = await waitFor('the drain to end', async () => {
        const d = await drain();
        return ['drained', 'blocked', 'cancelled'].includes(d.status) ? d : undefined;
      }, 120_000, 200);
      console.log(`# killed ${victim} with ${midway.counts.moved}/10 moved; ${survivor} finished the drain ${Date.now() - killedAt} ms later ` +
        `(${end.passes} passes in all)`);
      assert.equal(end.status, 'blocked', JSON.stringify(end, null, 1));
      assert.equal(end.driven_by, survivor, 'the surviving conductor ran the last passes');
      assert.deepEqual(end.counts, { total: 10, pending: 0, queued: 0, migrating: 0, moved: 9, blocked: 1, gone: 0 });
      assert.equal(end.blocked.length, 1);
      assert.equal(end.blocked[0]!.name, PINNED);
      assert.match(end.blocked[0]!.reason!, new RegExp(`check_can_live_migrate_source failed on h1: ${FAULT.replace(/[()]/g, '\\$&')}`));
      const pinned = end.instances.find((i) => i.name === PINNED)!;
      assert.equal(pinned.attempts, 2, 'tried again once before giving up');

      for (const id of vms) {
        const inst = (await c.store.repo.getInstance(id))!;
        if (inst.name === PINNED) assert.equal(inst.host, 'h1');
        else assert.ok(['h2', 'h3'].includes(inst.host!), `${inst.name} on ${inst.host}`);
        assert.equal(inst.taskState, null);
      }
      const rows = await c.store.repo.listMigrations();
      assert.ok(rows.every((m) => isTerminal(m.status)), rows.map((m) => `${m.id} ${m.status}`).join(', '));
      const svc = await c.api('GET', '/v2.1/os-services?host=h1');
      assert.deepEqual([svc.json.services[0].status, svc.json.services[0].disabled_reason], ['disabled', 'hardware swap']);
      assert.deepEqual(await c.store.repo.listClaims(), []);
      await c.assertCleanAudit();
    });
  });

/**
 * Acceptance of issue 9's concurrency limits across processes: api + 2 conductors + 3 fake computes on
 * RabbitMQ and PostgreSQL, conductor.limits.perHostOutbound = 2. Thirty live migrations are requested
 * from one host through the API at once; the journal's live_migration intervals (sent .. done) never
 * overlap more than twice, every migration completes, and aborting one still queued ends it `cancelled`.
 * Each copy is slowed by a fault rule (200 ms per pass, compute.fake.faults): the computes' fake driver
 * runs on a simulated clock, so a bandwidth alone would not make copies last in real time.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Step } from '../../src/core/migration-steps.js';
import { isTerminal } from '../../src/core/migration-status.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { AMQP_URL, gate, PG_URL, requireService } from '../store/service-gate.js';
import { ProcessCluster } from './process-cluster.js';

const MIGRATIONS = 30;
const OUTBOUND = 2;

const pgGate = await gate('PostgreSQL', PG_URL, 5432);
const amqpGate = await gate('RabbitMQ', AMQP_URL, 5672);

/** The most intervals open at one instant (an interval ending exactly when another starts does not overlap it). */
function maxOverlap(intervals: readonly [number, number][]): number {
  const events = intervals.flatMap(([a, b]) => [[a, 1], [b, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of events) {
    open += d;
    most = Math.max(most, open);
  }
  return most;
}

describe(`limits across processes: ${MIGRATIONS} migrations from one host, perHostOutbound ${OUTBOUND}`,
  { skip: pgGate.skip || amqpGate.skip, timeout: 300_000 }, () => {
    const c = new ProcessCluster({
      conductor: { limits: { perHostOutbound: OUTBOUND }, workflow: { retryBackoffMs: 300 } },
      compute: { fake: { faults: [{ op: 'migrate.pass', action: 'delay', ms: 200 }] } },
    });
    let vms: string[] = [];

    before(async () => {
      requireService(pgGate);
      requireService(amqpGate);
      await c.start(['c1', 'c2'], ['h1', 'h2', 'h3']);
      vms = await c.boot(Array.from({ length: MIGRATIONS }, (_, i) => `lim-${i}`), 'h1');
    });
    after(async () => { await c.stop(); });

    it('never more than two copies out of h1 at once; all complete; a queued one aborts to cancelled', async () => {
      for (const id of vms) {
        const r = await c.api('POST', `/v2.1/servers/${id}/action`, { 'os-migrateLive': { host: null, block_migration: 'auto' } });
        assert.equal(r.status, 202, JSON.stringify(r.json));
      }
      const ids = (await c.store.repo.listMigrations()).map((m) => m.id).sort((a, b) => a - b);
      assert.equal(ids.length, MIGRATIONS);
      // The last one asked waits behind the others: the API shows its place, and it can be aborted (2.65).
      const last = ids[ids.length - 1]!;
      const queued = await waitFor('the last migration to show its place in the queue', async () => {
        const j = await c.api('GET', `/v2.1/baton/migrations/${last}/journal`);
        return j.json.migration.queue ?? undefined;
      }, 20_000, 50);
      assert.equal(queued.host, 'h1');
      assert.ok(queued.position > 1, `position ${queued.position}`);
      const lastVm = vms[vms.length - 1]!;
      const abort = await c.api('DELETE', `/v2.1/servers/${lastVm}/migrations/${last}`, undefined, '2.65');
      assert.equal(abort.status, 202, JSON.stringify(abort.json));

      await waitFor('every migration to end', async () => {
        const rows = await c.store.repo.listMigrations();
        return rows.every((m) => isTerminal(m.status));
      }, 180_000, 250);
      const rows = await c.store.repo.listMigrations();
      const byId = new Map(rows.map((m) => [m.id, m]));
      assert.equal(byId.get(last)!.status, 'cancelled', byId.get(last)!.error ?? '');
      assert.deepEqual(byId.get(last)!.state.history.map((h) => h.status), ['accepted', 'queued', 'cancelled']);
      const others = rows.filter((m) => m.id !== last);
      assert.deepEqual(others.filter((m) => m.status !== 'completed').map((m) => `${m.id} ${m.status} ${m.error}`), [], c.tails());

      const intervals: [number, number][] = [];
      for (const m of others) {
        const s = (await c.store.repo.listSteps(m.id)).filter((x) => x.step === Step.MIGRATE && x.status === 'done');
        assert.equal(s.length, 1, `migration ${m.id}: one live_migration`);
        intervals.push([s[0]!.sentAt, s[0]!.doneAt!]);
      }
      const overlap = maxOverlap(intervals);
      console.log(`# ${others.length} copies out of h1, at most ${overlap} at once; ` +
        `${Math.round((Math.max(...intervals.map((i) => i[1])) - Math.min(...intervals.map((i) => i[0]))) / 1000)} s from first to last`);
      assert.equal(overlap, OUTBOUND, `the live_migration intervals overlapped ${overlap} at most (limit ${OUTBOUND})`);
      assert.equal((await c.store.repo.listInstances({ host: 'h1' })).length, 1, 'only the cancelled one stays on h1');
      assert.deepEqual(await c.store.repo.listClaims(), []);
      await c.assertCleanAudit();
    });
  });

/**
 * The CI-sized chaos run: the same runner as `npm run chaos`, with 150 live migrations and every fault kind at
 * least twice (conductor SIGKILL, compute SIGKILL mid-migration, conductor SIGSTOP, RabbitMQ stop_app, PostgreSQL
 * backends terminated, messages dropped/duplicated/delayed/reordered, slow hosts). Nothing may be lost, doubled,
 * stuck or leaked. BATON_CHAOS_SEED replays a failing seed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from '../../chaos/chaos-runner.js';
import { AMQP_URL, gate, PG_URL, requireService } from '../store/service-gate.js';

const pgGate = await gate('PostgreSQL', PG_URL, 5432);
const amqpGate = await gate('RabbitMQ', AMQP_URL, 5672);
const seed = Number(process.env['BATON_CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

describe('chaos run, CI size', { skip: pgGate.skip || amqpGate.skip }, () => {
  it(`150 migrations under every fault kind end with nothing lost, doubled, stuck or leaked (seed ${seed})`, { timeout: 900_000 }, async () => {
    requireService(pgGate);
    requireService(amqpGate);
    const r = await runChaos({ seed, migrations: 150, computes: 4, instancesPerHost: 3, perKind: 2, windowMs: 60_000, recoveryMs: 240_000,
      log: (line) => { if (process.env['BATON_CHAOS_VERBOSE']) console.log(line); } });
    const why = `seed ${seed}:\n${r.violations.slice(0, 20).map((v) => `  ${v.invariant}: ${v.detail}`).join('\n')}\n` +
      `journals: ${JSON.stringify(r.journals)}\nsummary: ${JSON.stringify({ ...r, violations: undefined, journals: undefined })}`;
    assert.deepEqual({ lost: r.lost, double: r.double, stuck: r.stuck, leaked: r.leaked }, { lost: 0, double: 0, stuck: 0, leaked: 0 }, why);
    assert.deepEqual(r.violations, [], why);
    assert.ok(r.passed && r.lastFaultToQuiescenceMs !== null, why);
    for (const kind of ['conductor-kill', 'compute-kill', 'conductor-freeze', 'broker-restart', 'pg-terminate', 'message-drop', 'message-duplicate',
      'message-delay', 'message-reorder']) {
      assert.ok((r.faults[kind] ?? 0) >= 2, `fault ${kind} injected at least twice (${r.faults[kind] ?? 0}); ${why}`);
    }
    assert.ok(r.migrations.accepted >= 100, `most requests were accepted (${r.migrations.accepted} of ${r.migrations.requested})`);
    assert.ok(r.migrations.completed >= 50, `migrations complete under faults (${r.migrations.completed})`);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cancelDrain, drainPass, migrationRefused, migrationStarted, newDrain, type DrainConfig, type DrainFacts, type DrainMigration,
  type DrainState } from './drain.js';
import type { Instance } from './model.js';
import type { MigrationStatus } from './migration-status.js';
import { instance, NOW } from './testing/fixtures.js';

const cfg: DrainConfig = { attempts: 2, pollMs: 1000 };
const vm = (uuid: string, host = 'h1', over: Partial<Instance> = {}) => instance({ uuid, name: `vm-${uuid}`, host, ...over });
const mig = (id: number, status: MigrationStatus, over: Partial<DrainMigration> = {}): DrainMigration =>
  ({ id, status, error: null, admission: status === 'queued' ? 'waiting' : 'admitted', destCompute: 'h2', ...over });

function facts(all: readonly Instance[], migrations: readonly DrainMigration[] = [], active: Record<string, number> = {}): DrainFacts {
  return { now: NOW, conductor: 'c1', onHost: all.filter((i) => i.host === 'h1'), instances: new Map(all.map((i) => [i.uuid, i])),
    migrations: new Map(migrations.map((m) => [m.id, m])), active: new Map(Object.entries(active)) };
}

const fresh = () => newDrain('h1', 'maintenance', { projectId: 'admin', userId: 'admin' }, NOW);
const statuses = (s: DrainState) => s.items.map((it) => `${it.instanceUuid}:${it.status}`);

test('every instance on the host gets a migration; moved ones are done; the drain ends drained', () => {
  let r = drainPass(fresh(), facts([vm('a'), vm('b')]), cfg);
  assert.deepEqual(r.commands, [{ type: 'migrate', instanceUuid: 'a' }, { type: 'migrate', instanceUuid: 'b' }]);
  let s = migrationStarted(migrationStarted(r.state, 'a', 1), 'b', 2);
  assert.deepEqual(statuses(s), ['a:migrating', 'b:migrating']);
  r = drainPass(s, facts([vm('a'), vm('b')], [mig(1, 'running'), mig(2, 'queued')], { a: 1, b: 2 }), cfg);
  assert.deepEqual([r.commands, r.state.status], [[], 'running']);
  r = drainPass(r.state, facts([vm('a', 'h2'), vm('b', 'h3')], [mig(1, 'completed'), mig(2, 'completed')]), cfg);
  s = r.state;
  assert.equal(s.status, 'drained');
  assert.equal(s.finishedAt, NOW);
  assert.deepEqual(s.items.map((it) => [it.status, it.movedTo]), [['moved', 'h2'], ['moved', 'h3']]);
  assert.deepEqual(drainPass(s, facts([]), cfg), { state: s, commands: [] }, 'an ended drain does nothing more');
});

test('a failed migration is tried again up to the bound, then the instance is blocked with the migration\'s error', () => {
  let s = migrationStarted(drainPass(fresh(), facts([vm('a')]), cfg).state, 'a', 1);
  const failed = (id: number) => mig(id, 'error', { error: 'check_can_live_migrate_source failed on h1: injected failure', admission: null });
  let r = drainPass(s, facts([vm('a')], [failed(1)]), cfg);
  assert.deepEqual(r.commands, [{ type: 'migrate', instanceUuid: 'a' }], 'tried again');
  assert.match(r.state.items[0]!.reason!, /injected failure/);
  s = migrationStarted(r.state, 'a', 2);
  r = drainPass(s, facts([vm('a')], [failed(2)]), cfg);
  assert.equal(r.state.status, 'blocked');
  assert.deepEqual(r.state.items.map((it) => [it.status, it.attempts, it.reason]),
    [['blocked', 2, 'check_can_live_migrate_source failed on h1: injected failure']]);
});

test('unmovable instances block, building ones are waited for, deleted ones are gone, another\'s migration is adopted', () => {
  const all = [vm('err', 'h1', { vmState: 'error' }), vm('new', 'h1', { vmState: 'building', taskState: 'spawning' }), vm('busy', 'h1', { taskState: 'migrating' })];
  const r = drainPass(fresh(), facts(all, [mig(7, 'running')], { busy: 7 }), cfg);
  assert.deepEqual(r.commands, []);
  assert.deepEqual(r.state.items.map((it) => [it.instanceUuid, it.status, it.migrationId]),
    [['err', 'blocked', null], ['new', 'pending', null], ['busy', 'migrating', 7]]);
  assert.match(r.state.items[0]!.reason!, /vm_state error/);
  const later = drainPass(r.state, facts([vm('err', 'h1', { vmState: 'error' }), vm('busy', 'h2')], [mig(7, 'completed')]), cfg);
  assert.deepEqual(statuses(later.state), ['err:blocked', 'new:gone', 'busy:moved']);
  assert.equal(later.state.status, 'blocked');
  const refused = migrationRefused(migrationRefused(fresh(), 'x', 'no', cfg), 'x', 'no', cfg);
  assert.deepEqual(refused.items, [], 'a refusal for an instance the drain does not know changes nothing');
});

test('cancelling: the drain\'s queued migrations are aborted, then it ends cancelled; the running one is left to finish', () => {
  let s = drainPass(fresh(), facts([vm('a'), vm('b')]), cfg).state;
  s = cancelDrain(migrationStarted(migrationStarted(s, 'a', 1), 'b', 2));
  let r = drainPass(s, facts([vm('a'), vm('b')], [mig(1, 'running'), mig(2, 'queued')], { a: 1, b: 2 }), cfg);
  assert.deepEqual([r.state.status, r.commands], ['cancelling', [{ type: 'abort', migrationId: 2 }]]);
  r = drainPass(r.state, facts([vm('a'), vm('b')], [mig(1, 'running'), mig(2, 'cancelled', { admission: null })], { a: 1 }), cfg);
  assert.deepEqual([r.state.status, r.commands], ['cancelled', []]);
  assert.equal(cancelDrain(r.state), r.state, 'an ended drain is not cancelled again');
});

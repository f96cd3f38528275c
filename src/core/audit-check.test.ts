import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  auditFindings, confirmedFindings, involvedHosts, isEmpty, type AuditBounds, type AuditMigration, type AuditSnapshot, type ObservedGuest,
} from './audit-check.js';
import type { Claim, Instance } from './model.js';
import { instance, NOW } from './testing/fixtures.js';

const BOUNDS: AuditBounds = { overdueWakeupMs: 60_000, staleMigrationMs: 900_000 };
const VM = instance({ uuid: 'vm-1', name: 'one', host: 'a' });

type Listing = Record<string, Record<string, string>>;

/** A snapshot from `{host: {uuid: state}}`; a host absent from the listing did not answer. */
function snap(listing: Listing, over: Partial<Omit<AuditSnapshot, 'guests'>> = {}): AuditSnapshot {
  const guests = new Map<string, ObservedGuest[]>(Object.entries(listing).map(([h, g]) => [h, Object.entries(g).map(([uuid, state]) => ({ uuid, state }))]));
  return { now: NOW, guests, instances: [VM], activeMigrations: [], inMotion: new Set(), claims: [], ...over };
}

function migration(over: Partial<AuditMigration> = {}): AuditMigration {
  return { id: 7, instanceUuid: 'vm-1', source: 'a', dest: 'b', switchedOver: false, nextWakeup: NOW + 1_000, updatedAt: NOW - 1_000, ...over };
}

function claim(over: Partial<Claim> = {}): Claim {
  return { migrationId: 7, host: 'b', instanceUuid: 'vm-1', vcpus: 2, memoryMb: 2048, diskGb: 20, ...over };
}

const kinds = (s: AuditSnapshot) => {
  const f = auditFindings(s, BOUNDS);
  return { anomalies: f.anomalies.map((a) => `${a.kind}:${a.severity}:${a.hosts.join('+')}`), actions: f.actions.map((a) => a.kind) };
};

test('a clean cluster has no findings: one running copy on the recorded host, other hosts empty', () => {
  assert.ok(isEmpty(auditFindings(snap({ a: { 'vm-1': 'running' }, b: {}, c: {} }), BOUNDS)));
  const paused = instance({ uuid: 'vm-1', host: 'a', vmState: 'paused' });
  assert.ok(isEmpty(auditFindings(snap({ a: { 'vm-1': 'paused' } }, { instances: [paused] }), BOUNDS)), 'a paused instance paused on its host');
});

test('two running copies: a critical anomaly naming both hosts, and nothing is destroyed or rewritten', () => {
  const f = auditFindings(snap({ a: { 'vm-1': 'running' }, b: { 'vm-1': 'running' } }), BOUNDS);
  assert.deepEqual(f.actions, []);
  assert.equal(f.anomalies.length, 1);
  const [a] = f.anomalies;
  assert.deepEqual([a!.kind, a!.severity, a!.hosts, a!.instanceUuid], ['two-running-copies', 'critical', ['a', 'b'], 'vm-1']);
  assert.match(a!.message, /runs on 2 hosts: a \(running\), b \(running\)/);
  // A migrating source counts as running when no migration is live.
  assert.deepEqual(kinds(snap({ a: { 'vm-1': 'running' }, b: { 'vm-1': 'migrating' } })).anomalies, ['two-running-copies:critical:a+b']);
  // Even during a migration, two copies that both run are never the switch-over.
  assert.deepEqual(kinds(snap({ a: { 'vm-1': 'running' }, b: { 'vm-1': 'running' } }, { activeMigrations: [migration()] })),
    { anomalies: ['two-running-copies:critical:a+b'], actions: [] });
});

test('a stopped copy off the recorded host, with no live migration, is destroyed: the running copy is on the recorded host', () => {
  const f = auditFindings(snap({ a: { 'vm-1': 'running' }, b: { 'vm-1': 'postmigrate' }, c: { 'vm-1': 'incoming' } }), BOUNDS);
  assert.deepEqual(f.anomalies, []);
  assert.deepEqual(f.actions, [
    { kind: 'destroy-stray', instanceUuid: 'vm-1', host: 'b', state: 'postmigrate', runsOn: 'a' },
    { kind: 'destroy-stray', instanceUuid: 'vm-1', host: 'c', state: 'incoming', runsOn: 'a' },
  ]);
});

test('the only running copy is on another host: the record is corrected, and the stopped copy on the old host goes', () => {
  const f = auditFindings(snap({ a: { 'vm-1': 'postmigrate' }, b: { 'vm-1': 'running' } }), BOUNDS);
  assert.deepEqual(f.anomalies, []);
  assert.deepEqual(f.actions, [
    { kind: 'fix-host', instanceUuid: 'vm-1', from: 'a', to: 'b' },
    { kind: 'destroy-stray', instanceUuid: 'vm-1', host: 'a', state: 'postmigrate', runsOn: 'b' },
  ]);
});

test('a copy elsewhere while the recorded host does not answer: reported, not corrected', () => {
  assert.deepEqual(kinds(snap({ b: { 'vm-1': 'running' } })), { anomalies: ['running-elsewhere-unverified:warning:a+b'], actions: [] });
});

test('no running copy: missing on an answering recorded host is critical; an unreachable host is unknown, not missing', () => {
  assert.deepEqual(kinds(snap({ a: {}, b: {} })), { anomalies: ['guest-missing:critical:a'], actions: [] });
  assert.deepEqual(kinds(snap({ b: {} })), { anomalies: [], actions: [] });
  assert.deepEqual(kinds(snap({ a: { 'vm-1': 'postmigrate' } })), { anomalies: ['guest-not-running:critical:a'], actions: [] });
  assert.deepEqual(kinds(snap({ a: { 'vm-1': 'paused' } })), { anomalies: ['guest-not-running:warning:a'], actions: [] });
  // A stopped copy elsewhere is never destroyed when nothing runs: it may be all that is left.
  assert.deepEqual(kinds(snap({ a: {}, b: { 'vm-1': 'postmigrate' } })), { anomalies: ['guest-missing:critical:a+b'], actions: [] });
});

test('instances being built, spawned, deleted or in error are not reported missing', () => {
  for (const over of [{ vmState: 'building' }, { taskState: 'spawning' }, { taskState: 'deleting' }, { vmState: 'error' }, { host: null }] as const) {
    assert.ok(isEmpty(auditFindings(snap({ a: {} }, { instances: [instance({ uuid: 'vm-1', host: 'a', ...over })] }), BOUNDS)), JSON.stringify(over));
  }
});

test('a live migration: the host checks are skipped; a running destination before the switch-over is fed to the workflow', () => {
  const m = migration();
  assert.ok(isEmpty(auditFindings(snap({ a: { 'vm-1': 'migrating' }, b: { 'vm-1': 'incoming' } }, { activeMigrations: [m] }), BOUNDS)));
  assert.ok(isEmpty(auditFindings(snap({ a: { 'vm-1': 'migrating' }, b: { 'vm-1': 'running' } }, { activeMigrations: [m] }), BOUNDS)),
    'post-copy: the source still migrating');
  assert.deepEqual(auditFindings(snap({ a: { 'vm-1': 'postmigrate' }, b: { 'vm-1': 'running' } }, { activeMigrations: [m] }), BOUNDS).actions,
    [{ kind: 'switched-over', migrationId: 7, instanceUuid: 'vm-1', host: 'b', evidence: 'b lists the guest running; a lists it postmigrate' }]);
  assert.deepEqual(auditFindings(snap({ b: { 'vm-1': 'running' } }, { activeMigrations: [m] }), BOUNDS).actions.map((a) => a.kind), ['switched-over'],
    'the source did not answer: the running destination is proof enough');
  assert.ok(isEmpty(auditFindings(snap({ a: { 'vm-1': 'postmigrate' }, b: { 'vm-1': 'running' } },
    { activeMigrations: [migration({ switchedOver: true })] }), BOUNDS)), 'already switched over');
  assert.ok(isEmpty(auditFindings(snap({ a: {}, b: { 'vm-1': 'running' } }, { inMotion: new Set(['vm-1']) }), BOUNDS)),
    'a migration moved the instance during the snapshot');
});

test('claims: one without a live migration or without its instance is released, a live one is kept', () => {
  const f = auditFindings(snap({ a: { 'vm-1': 'migrating' }, b: { 'vm-1': 'incoming' } }, {
    activeMigrations: [migration()], claims: [claim(), claim({ migrationId: 8 }), claim({ migrationId: 7, instanceUuid: 'gone' })],
  }), BOUNDS);
  assert.deepEqual(f.actions, [
    { kind: 'delete-claim', migrationId: 8, host: 'b', instanceUuid: 'vm-1', reason: 'migration 8 is over or gone' },
    { kind: 'delete-claim', migrationId: 7, host: 'b', instanceUuid: 'gone', reason: 'instance gone is gone' },
  ]);
});

test('a live migration past its deadlines: overdue wake-up is critical, a record unchanged for too long a warning', () => {
  const listing = { a: { 'vm-1': 'migrating' }, b: { 'vm-1': 'incoming' } };
  assert.deepEqual(kinds(snap(listing, { activeMigrations: [migration({ nextWakeup: NOW - 61_000 })] })).anomalies, ['migration-overdue:critical:a+b']);
  assert.deepEqual(kinds(snap(listing, { activeMigrations: [migration({ nextWakeup: null, updatedAt: NOW - 901_000 })] })).anomalies,
    ['migration-stale:warning:a+b']);
  assert.deepEqual(kinds(snap(listing, { activeMigrations: [migration({ nextWakeup: NOW - 59_000 })] })).anomalies, []);
  const queued = migration({ dest: null, nextWakeup: null, updatedAt: NOW - 3_600_000, waiting: true });
  assert.deepEqual(kinds(snap({ a: { 'vm-1': 'running' } }, { activeMigrations: [queued] })).anomalies, [], 'waiting in the queue for an hour is not stale');
});

test('a guest no instance record names is reported', () => {
  const f = auditFindings(snap({ a: { 'vm-1': 'running', ghost: 'paused' } }), BOUNDS);
  assert.deepEqual(f.anomalies.map((a) => [a.kind, a.instanceUuid, a.hosts]), [['unknown-guest', 'ghost', ['a']]]);
});

test('confirmation keeps what both looks found; the hosts to list again are those that hold or should hold a copy', () => {
  // First look: a migration moved the guest between the two listings, so it seemed to run twice.
  const first = snap({ a: { 'vm-1': 'running' }, b: { 'vm-1': 'running' }, c: {} }, { claims: [claim({ migrationId: 9 })] });
  const f1 = auditFindings(first, BOUNDS);
  assert.deepEqual(involvedHosts(f1, first), ['a', 'b']);
  const second = snap({ a: {}, b: { 'vm-1': 'running' }, c: {} }, { instances: [instance({ uuid: 'vm-1', host: 'b' })], claims: [claim({ migrationId: 9 })] });
  const f = confirmedFindings(f1, auditFindings(second, BOUNDS));
  assert.deepEqual(f.anomalies, [], 'the two copies were not seen twice');
  assert.deepEqual(f.actions.map((a) => a.kind), ['delete-claim'], 'the leaked claim was');
});

test('instances of other records do not interfere: each is checked on its own', () => {
  const other: Instance = instance({ uuid: 'vm-2', name: 'two', host: 'b' });
  const s = snap({ a: { 'vm-1': 'running' }, b: { 'vm-2': 'running' } }, { instances: [VM, other] });
  assert.ok(isEmpty(auditFindings(s, BOUNDS)));
});

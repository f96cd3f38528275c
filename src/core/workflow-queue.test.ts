import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowEvent } from './migration-state.js';
import { Step } from './migration-steps.js';
import { desc, NOW } from './testing/fixtures.js';
import { done, failed, fresh, run, sends } from './testing/workflow-run.js';
import { nextWakeup } from './workflow-steps.js';
import { admissionOf } from './admission.js';

const wait = (reason: string, retryAt: number | null = null): WorkflowEvent => ({ type: 'must-wait', reason, retryAt });
const schedules = (r: ReturnType<typeof run>) => r.commands.filter((c) => c.type === 'schedule').length;

test('a migration over a limit waits queued, holding nothing and waiting on no timer, and asks again when woken', () => {
  let r = run(fresh(), [{ type: 'start' }, wait('outbound limit of src reached (1 of 1)')]);
  assert.equal(r.s.status, 'queued');
  assert.equal(r.s.phase, 'queued');
  assert.equal(admissionOf(r.s), 'waiting');
  assert.deepEqual(r.s.queue, { reason: 'outbound limit of src reached (1 of 1)', since: NOW, retryAt: null });
  assert.equal(nextWakeup(r.s), null, 'woken by whoever frees a slot, not polled');
  r = run(r.s, [{ type: 'tick' }], NOW + 5000);
  assert.equal(schedules(r), 1, 'the wake-up asks for a slot again');
  r = run(r.s, [wait('outbound limit of src reached (1 of 1)')], NOW + 5000);
  assert.equal(r.s.queue?.since, NOW, 'still waiting since the first refusal');
  r = run(r.s, [{ type: 'scheduled', dest: desc('dst') }], NOW + 6000);
  assert.equal(r.s.phase, 'checks');
  assert.equal(r.s.queue, null);
  assert.equal(admissionOf(r.s), 'admitted');
  assert.deepEqual(sends(r.commands), [`${Step.CHECK_DEST}@dst#1`, `${Step.CHECK_SOURCE}@src#1`]);
});

test('a busy admission lock: asks again at retryAt, on the timer', () => {
  const r = run(fresh(), [{ type: 'start' }, wait('another conductor is admitting a migration; asking again shortly', NOW + 250)]);
  assert.equal(nextWakeup(r.s), NOW + 250);
  assert.equal(schedules(run(r.s, [{ type: 'tick' }], NOW + 250)), 1);
});

test('a queued migration can be aborted (Nova 2.65): cancelled, nothing sent to any host', () => {
  const r = run(fresh(), [{ type: 'start' }, wait('cluster limit reached (5 of 5 migrations in progress)'), { type: 'abort' }]);
  assert.equal(r.s.status, 'cancelled');
  assert.equal(admissionOf(r.s), null);
  assert.deepEqual(sends(r.commands), []);
  assert.deepEqual(r.s.history.map((h) => h.status), ['accepted', 'queued', 'cancelled']);
  assert.ok(r.commands.some((c) => c.type === 'instance' && c.taskState === null), 'the instance is free again');
});

test('every event reaching a queued migration asks for a slot again; answers to the request do not', () => {
  const queued = run(fresh(), [{ type: 'start' }, wait('cluster limit reached (5 of 5 migrations in progress)')]).s;
  for (const e of [{ type: 'start' }, { type: 'recover' }, { type: 'force-complete' }] as WorkflowEvent[]) {
    assert.equal(schedules(run(queued, [e])), 1, e.type);
  }
  assert.equal(schedules(run(queued, [wait('x')])), 0);
});

test('a destination that fails its checks, with no other host having an inbound slot: back to the queue, then on', () => {
  let r = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('d1') }, failed(Step.CHECK_DEST, 'MessagingTimeout')]);
  assert.ok(r.commands.some((c) => c.type === 'release-claim'));
  r = run(r.s, [wait('every destination that would take it is at its inbound limit: d2 (2 of 2)')]);
  assert.equal(r.s.phase, 'queued');
  assert.equal(admissionOf(r.s), 'waiting', 'its slots are given back');
  r = run(r.s, [done(Step.CHECK_SOURCE)]);
  assert.equal(r.s.steps[Step.CHECK_SOURCE]!.status, 'done', 'the source check in flight still counts');
  assert.equal(schedules(r), 1);
  r = run(r.s, [{ type: 'scheduled', dest: desc('d2') }, done(Step.CHECK_DEST, 2)]);
  assert.equal(r.s.status, 'preparing');
  assert.deepEqual(sends(r.commands), [`${Step.CHECK_DEST}@d2#2`, `${Step.PRE}@d2#1`]);
});

test('the source refusing while re-queued ends the migration', () => {
  const r = run(fresh(), [{ type: 'start' }, { type: 'scheduled', dest: desc('d1') }, failed(Step.CHECK_DEST, 'MessagingTimeout'),
    wait('every destination that would take it is at its inbound limit: d2 (2 of 2)'), failed(Step.CHECK_SOURCE)]);
  assert.equal(r.s.status, 'error');
  assert.equal(admissionOf(r.s), null);
});

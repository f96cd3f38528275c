import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatonError } from './errors.js';
import { ZERO_USAGE, type ComputeHost } from './model.js';
import { filterHosts, selectBootHost, selectDestination, type ScheduleRequest } from './scheduler.js';
import { FLAVOR, host, NOW } from './testing/fixtures.js';

const source = host('src');
const req = (over: Partial<ScheduleRequest> = {}): ScheduleRequest => ({
  instanceUuid: 'i', flavor: FLAVOR, source, requestedHost: null, excluded: [], now: NOW, serviceDownTimeMs: 60_000, ...over,
});
const cand = (h: ComputeHost, memUsed = 0) => ({ host: h, usage: { ...ZERO_USAGE, memoryMb: memUsed } });

test('filters drop the source, disabled, down, excluded, older, incompatible and full hosts', () => {
  const hosts = [
    cand(source), cand(host('disabled', { disabled: true, disabledReason: 'maintenance' })),
    cand(host('down', { lastHeartbeat: NOW - 120_000 })), cand(host('excluded')), cand(host('old', { rpcVersion: '0.9' })),
    cand(host('xen', { hypervisorType: 'xen' })), cand(host('full'), 16_000), cand(host('good')),
  ];
  const { passed, rejected } = filterHosts(req({ excluded: ['excluded'] }), hosts);
  assert.deepEqual(passed.map((c) => c.host.host), ['good']);
  const why = Object.fromEntries(rejected.map((r) => [r.host, r.reason]));
  assert.match(why['src']!, /source/);
  assert.match(why['disabled']!, /maintenance/);
  assert.match(why['down']!, /unavailable/);
  assert.match(why['excluded']!, /already failed/);
  assert.match(why['old']!, /older/);
  assert.match(why['xen']!, /hypervisor type/);
  assert.match(why['full']!, /memory/);
});

test('the weigher prefers the host with the most free RAM', () => {
  const chosen = selectDestination(req(), [cand(host('busy'), 8_000), cand(host('idle'), 1_000), cand(host('mid'), 4_000)]);
  assert.equal(chosen.host.host, 'idle');
});

test('NoValidHost names why each host was rejected', () => {
  assert.throws(() => selectDestination(req(), [cand(source), cand(host('full'), 16_000)]), (e: unknown) => {
    assert.ok(e instanceof BatonError);
    assert.equal(e.code, 'NoValidHost');
    assert.match(e.message, /full: .*memory/);
    return true;
  });
});

test('a requested host gets its own typed error instead of a silent fallback', () => {
  assert.throws(() => selectDestination(req({ requestedHost: 'xen' }), [cand(host('xen', { hypervisorType: 'xen' })), cand(host('good'))]),
    (e: unknown) => e instanceof BatonError && e.code === 'InvalidHypervisorType');
  assert.throws(() => selectDestination(req({ requestedHost: 'ghost' }), [cand(host('good'))]),
    (e: unknown) => e instanceof BatonError && e.code === 'ComputeHostNotFound');
  assert.equal(selectDestination(req({ requestedHost: 'good' }), [cand(host('good')), cand(host('other'))]).host.host, 'good');
});

test('boot placement skips disabled, down and full hosts', () => {
  const c = selectBootHost({ flavor: FLAVOR, requestedHost: null, now: NOW, serviceDownTimeMs: 60_000,
    candidates: [cand(host('off', { disabled: true })), cand(host('down', { lastHeartbeat: 0 })), cand(host('full'), 16_000), cand(host('ok'))] });
  assert.equal(c.host.host, 'ok');
  assert.throws(() => selectBootHost({ flavor: FLAVOR, requestedHost: null, now: NOW, serviceDownTimeMs: 60_000, candidates: [] }),
    (e: unknown) => e instanceof BatonError && e.code === 'NoValidHost');
});

test('a boot that fits nowhere says what each host lacks, worded as a build, not a migration', () => {
  assert.throws(() => selectBootHost({ flavor: FLAVOR, requestedHost: null, now: NOW, serviceDownTimeMs: 60_000,
    candidates: [cand(host('nodisk', { diskGb: 0 }))] }), (e: unknown) => e instanceof BatonError && e.code === 'NoValidHost'
      && /nodisk: not enough disk \(free 0 GiB, need \d+ GiB\) for flavor /.test(e.message) && !/migrat/i.test(e.message));
});

test('a source whose service is down fails at once with ComputeServiceUnavailable, named host or not', () => {
  const down = host('src', { lastHeartbeat: NOW - 61_000 });
  for (const requestedHost of [null, 'good']) {
    assert.throws(() => selectDestination(req({ source: down, requestedHost }), [cand(down), cand(host('good'))]),
      (e: BatonError) => e.code === 'ComputeServiceUnavailable' && /src is unavailable/.test(e.message));
  }
  assert.equal(selectDestination(req({ source: host('src', { lastHeartbeat: NOW - 59_000 }) }), [cand(host('good'))]).host.host, 'good');
});

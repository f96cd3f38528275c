import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatonError } from './errors.js';
import {
  checkCapacity, checkCpuCompatibility, checkHostExists, checkHypervisorType, checkHypervisorVersion, checkInstanceState,
  checkNotSelf, checkServiceUp,
} from './prechecks.js';
import { FLAVOR, host, instance, NOW } from './testing/fixtures.js';

function throwsCode(fn: () => unknown, code: string, text?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BatonError, 'a typed BatonError');
    assert.equal(e.code, code);
    if (text) assert.match(e.message, text);
    return true;
  });
}

test('InstanceInvalidState: not ACTIVE or PAUSED', () => {
  throwsCode(() => checkInstanceState(instance({ vmState: 'error' })), 'InstanceInvalidState', /vm_state error/);
  throwsCode(() => checkInstanceState(instance({ vmState: 'building' })), 'InstanceInvalidState');
  assert.doesNotThrow(() => checkInstanceState(instance({ vmState: 'paused' })));
  assert.doesNotThrow(() => checkInstanceState(instance()));
});

test('InstanceInvalidState: a task already running', () => {
  throwsCode(() => checkInstanceState(instance({ taskState: 'migrating' })), 'InstanceInvalidState', /task_state migrating/);
});

test('ComputeHostNotFound', () => {
  throwsCode(() => checkHostExists(undefined, 'ghost'), 'ComputeHostNotFound', /ghost/);
  assert.equal(checkHostExists(host('a'), 'a').host, 'a');
});

test('ComputeServiceUnavailable when the heartbeat is older than service_down_time', () => {
  throwsCode(() => checkServiceUp(host('a', { lastHeartbeat: NOW - 61_000 }), NOW, 60_000), 'ComputeServiceUnavailable', /a/);
  assert.doesNotThrow(() => checkServiceUp(host('a', { lastHeartbeat: NOW - 59_000 }), NOW, 60_000));
});

test('UnableToMigrateToSelf', () => {
  throwsCode(() => checkNotSelf('a', 'a', 'i'), 'UnableToMigrateToSelf', /current host \(a\)/);
  assert.doesNotThrow(() => checkNotSelf('a', 'b', 'i'));
});

test('MigrationPreCheckError for memory, vCPU and disk under the allocation ratios', () => {
  const small = host('d', { memoryMb: 4096, vcpus: 2, diskGb: 40 });
  throwsCode(() => checkCapacity(small, { memoryMb: 3000, vcpus: 0, diskGb: 0, instances: 1 }, FLAVOR, 'i'), 'MigrationPreCheckError', /memory/);
  throwsCode(() => checkCapacity(small, { memoryMb: 0, vcpus: 1, diskGb: 0, instances: 1 }, FLAVOR, 'i'), 'MigrationPreCheckError', /vCPU/);
  throwsCode(() => checkCapacity(small, { memoryMb: 0, vcpus: 0, diskGb: 30, instances: 1 }, FLAVOR, 'i'), 'MigrationPreCheckError', /disk/);
  // The same usage fits once the ratios allow overcommit.
  const overcommit = host('d', { memoryMb: 4096, vcpus: 2, diskGb: 40, ratios: { cpu: 4, ram: 1.5, disk: 2 } });
  assert.doesNotThrow(() => checkCapacity(overcommit, { memoryMb: 3000, vcpus: 1, diskGb: 30, instances: 1 }, FLAVOR, 'i'));
});

test('InvalidHypervisorType', () => {
  throwsCode(() => checkHypervisorType(host('s'), host('d', { hypervisorType: 'fake' })), 'InvalidHypervisorType', /fake/);
});

test('DestinationHypervisorTooOld', () => {
  throwsCode(() => checkHypervisorVersion(host('s'), host('d', { hypervisorVersion: 7_000_000 })), 'DestinationHypervisorTooOld');
  assert.doesNotThrow(() => checkHypervisorVersion(host('s'), host('d', { hypervisorVersion: 9_000_000 })));
});

test('CPU incompatibility: a missing feature or another model', () => {
  throwsCode(() => checkCpuCompatibility(host('s', { cpuFeatures: ['avx', 'avx512f'] }), host('d')), 'InvalidCPUInfo', /avx512f/);
  throwsCode(() => checkCpuCompatibility(host('s'), host('d', { cpuModel: 'Skylake' })), 'InvalidCPUInfo', /Skylake/);
  assert.doesNotThrow(() => checkCpuCompatibility(host('s'), host('d', { cpuFeatures: ['sse4.2', 'avx', 'avx2'] })));
});

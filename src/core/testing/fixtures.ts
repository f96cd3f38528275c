/** Builders of domain objects for unit tests of the pure core. */
import type { ComputeHost, Flavor, Instance } from '../model.js';
import type { HostDescriptor, WorkflowConfig, WorkflowContext } from '../migration-state.js';
import { DEFAULT_WORKFLOW_CONFIG } from '../migration-state.js';
import { describeHost } from '../model.js';

export const NOW = 1_800_000_000_000;

export const FLAVOR: Flavor = { id: '2', name: 'm1.small', vcpus: 2, memoryMb: 2048, diskGb: 20 };

export function host(name: string, over: Partial<ComputeHost> = {}): ComputeHost {
  return {
    host: name, hypervisorId: `id-${name}`, hypervisorType: 'QEMU', hypervisorVersion: 8_002_000, cpuModel: 'Haswell',
    cpuFeatures: ['sse4.2', 'avx'], vcpus: 8, memoryMb: 16_384, diskGb: 200, ratios: { cpu: 1, ram: 1, disk: 1 },
    rpcVersion: '1.0', lastHeartbeat: NOW - 1_000, disabled: false, disabledReason: null, hostIp: '127.0.0.1', startedAt: NOW - 60_000,
    ...over,
  };
}

export function desc(name: string, over: Partial<ComputeHost> = {}): HostDescriptor {
  return describeHost(host(name, over));
}

export function instance(over: Partial<Instance> = {}): Instance {
  return {
    uuid: 'inst-1', name: 'vm-1', host: 'src', vmState: 'active', taskState: null, powerState: 1, flavorId: FLAVOR.id,
    imageRef: 'img', projectId: 'p', userId: 'u', createdAt: NOW, updatedAt: NOW, ...over,
  };
}

export function ctx(now = NOW, over: Partial<WorkflowConfig> = {}): WorkflowContext {
  return { now, config: { ...DEFAULT_WORKFLOW_CONFIG, ...over } };
}

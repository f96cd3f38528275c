/**
 * Live-migration pre-checks, each a small pure function that throws a typed error with Nova's name.
 * The conductor runs the host-level ones while scheduling; computes run the hypervisor-level ones
 * (the same functions) against their own view in check_can_live_migrate_*.
 */
import { BatonError } from './errors.js';
import type { ComputeHost, Flavor, HostUsage, Instance } from './model.js';

export function checkInstanceState(instance: Instance): void {
  if (instance.vmState !== 'active' && instance.vmState !== 'paused') {
    throw new BatonError('InstanceInvalidState',
      `Instance ${instance.uuid} in vm_state ${instance.vmState}. Cannot live-migrate while the instance is in this state.`,
      { instanceUuid: instance.uuid, attr: 'vm_state', state: instance.vmState });
  }
  if (instance.taskState !== null) {
    throw new BatonError('InstanceInvalidState',
      `Instance ${instance.uuid} in task_state ${instance.taskState}. Cannot live-migrate while the instance is in this state.`,
      { instanceUuid: instance.uuid, attr: 'task_state', state: instance.taskState });
  }
  if (instance.host === null) {
    throw new BatonError('InstanceInvalidState', `Instance ${instance.uuid} has no host.`, { instanceUuid: instance.uuid });
  }
}

export function checkHostExists(host: ComputeHost | undefined, name: string): ComputeHost {
  if (!host) throw new BatonError('ComputeHostNotFound', `Compute host ${name} could not be found.`, { host: name });
  return host;
}

export function isServiceUp(host: ComputeHost, now: number, serviceDownTimeMs: number): boolean {
  return now - host.lastHeartbeat <= serviceDownTimeMs;
}

export function checkServiceUp(host: ComputeHost, now: number, serviceDownTimeMs: number): void {
  if (!isServiceUp(host, now, serviceDownTimeMs)) {
    const age = Math.round((now - host.lastHeartbeat) / 1000);
    throw new BatonError('ComputeServiceUnavailable',
      `Compute service of ${host.host} is unavailable at this time (last heartbeat ${age}s ago).`, { host: host.host });
  }
}

/** The source must itself be reachable before anything is asked of it; otherwise every step would time out. */
export function checkSourceUp(source: ComputeHost, now: number, serviceDownTimeMs: number): void {
  checkServiceUp(source, now, serviceDownTimeMs);
}

export function checkNotSelf(source: string, dest: string, instanceUuid: string): void {
  if (source === dest) {
    throw new BatonError('UnableToMigrateToSelf',
      `Unable to migrate instance (${instanceUuid}) to current host (${source}).`, { host: source, instanceUuid });
  }
}

/** What a host lacks for `flavor` under its allocation ratios (empty when it fits in all three dimensions). */
export function capacityShortfall(host: ComputeHost, usage: HostUsage, flavor: Flavor): string[] {
  const short: string[] = [];
  const freeRam = host.memoryMb * host.ratios.ram - usage.memoryMb;
  const freeCpu = host.vcpus * host.ratios.cpu - usage.vcpus;
  const freeDisk = host.diskGb * host.ratios.disk - usage.diskGb;
  if (freeRam < flavor.memoryMb) short.push(`memory (free ${Math.floor(freeRam)} MiB, need ${flavor.memoryMb} MiB)`);
  if (freeCpu < flavor.vcpus) short.push(`vCPU (free ${Math.floor(freeCpu)}, need ${flavor.vcpus})`);
  if (freeDisk < flavor.diskGb) short.push(`disk (free ${Math.floor(freeDisk)} GiB, need ${flavor.diskGb} GiB)`);
  return short;
}

/** A migration's claim must fit in all three dimensions. */
export function checkCapacity(host: ComputeHost, usage: HostUsage, flavor: Flavor, instanceUuid: string): void {
  const short = capacityShortfall(host, usage, flavor);
  if (short.length > 0) {
    throw new BatonError('MigrationPreCheckError',
      `Migration pre-check error: Unable to migrate ${instanceUuid} to ${host.host}: lack of ${short.join(', ')}.`,
      { host: host.host, instanceUuid });
  }
}

export function checkHypervisorType(source: ComputeHost, dest: ComputeHost): void {
  if (source.hypervisorType !== dest.hypervisorType) {
    throw new BatonError('InvalidHypervisorType',
      `The supplied hypervisor type of ${dest.host} (${dest.hypervisorType}) does not match the source (${source.hypervisorType}).`,
      { host: dest.host });
  }
}

export function checkHypervisorVersion(source: ComputeHost, dest: ComputeHost): void {
  if (dest.hypervisorVersion < source.hypervisorVersion) {
    throw new BatonError('DestinationHypervisorTooOld',
      `The instance requires a newer hypervisor version than has been provided: ${dest.host} has ${dest.hypervisorVersion}, source ${source.host} has ${source.hypervisorVersion}.`,
      { host: dest.host });
  }
}

/** The destination must offer the source's CPU model family and every feature the guest may be using. */
export function checkCpuCompatibility(source: ComputeHost, dest: ComputeHost): void {
  const missing = source.cpuFeatures.filter((f) => !dest.cpuFeatures.includes(f));
  if (source.cpuModel !== dest.cpuModel || missing.length > 0) {
    const why = source.cpuModel !== dest.cpuModel
      ? `CPU model ${dest.cpuModel} differs from ${source.cpuModel}`
      : `missing CPU features: ${missing.join(', ')}`;
    throw new BatonError('InvalidCPUInfo',
      `Unacceptable CPU info: CPU doesn't have compatibility. ${dest.host}: ${why}.`, { host: dest.host, missing });
  }
}

/** Every destination-side check in Nova's order; the first failure wins. */
export function checkDestination(args: {
  source: ComputeHost; dest: ComputeHost; usage: HostUsage; flavor: Flavor; instanceUuid: string;
  now: number; serviceDownTimeMs: number;
}): void {
  checkNotSelf(args.source.host, args.dest.host, args.instanceUuid);
  checkServiceUp(args.dest, args.now, args.serviceDownTimeMs);
  checkHypervisorType(args.source, args.dest);
  checkHypervisorVersion(args.source, args.dest);
  checkCpuCompatibility(args.source, args.dest);
  checkCapacity(args.dest, args.usage, args.flavor, args.instanceUuid);
}

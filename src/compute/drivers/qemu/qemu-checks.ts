/**
 * Hypervisor-level pre-checks (check_can_live_migrate_destination/_source): the QEMU binary, the machine
 * type, the CPU model and features, and free memory. Each failure is a typed BatonError with Nova's code.
 */
import { BatonError } from '../../../core/errors.js';
import type { GuestSpec } from '../../driver-port.js';
import { probeQemu, type QemuBinaryInfo } from './qemu-host-info.js';
import type { ResolvedQemuConfig } from './qemu-config.js';
import type { QemuInstance } from './qemu-instance.js';
import { ACTIVE_STATUSES, sourceFacts } from './source-facts.js';

async function probe(cfg: ResolvedQemuConfig): Promise<QemuBinaryInfo> {
  try {
    return await probeQemu(cfg.binary);
  } catch (err) {
    throw new BatonError('MigrationPreCheckError', `QEMU binary ${cfg.binary} is not usable on ${cfg.host}: ${(err as Error).message}`,
      { host: cfg.host, binary: cfg.binary });
  }
}

/** The versioned machine type behind the configured one; both ends must run the same. */
export async function resolveMachine(cfg: ResolvedQemuConfig): Promise<string> {
  const info = await probe(cfg);
  const machine = info.machines.get(cfg.machine);
  if (!machine) {
    throw new BatonError('MigrationPreCheckError', `machine type ${cfg.machine} is not supported by QEMU ${info.version} on ${cfg.host}`,
      { host: cfg.host, machine: cfg.machine });
  }
  return machine;
}

export async function checkDestination(
  cfg: ResolvedQemuConfig, guests: readonly QemuInstance[], guest: GuestSpec, source: { cpuModel: string; cpuFeatures: readonly string[] },
): Promise<Record<string, unknown>> {
  const info = await probe(cfg);
  const machine = await resolveMachine(cfg);
  if (source.cpuModel !== cfg.cpuModel && !info.cpuModels.has(source.cpuModel)) {
    throw new BatonError('InvalidCPUInfo', `CPU model ${source.cpuModel} is not available on ${cfg.host}`, { host: cfg.host, cpuModel: source.cpuModel });
  }
  if (source.cpuModel !== cfg.cpuModel) {
    // Guests here start with this host's model; a different source model would change the guest's CPU.
    throw new BatonError('InvalidCPUInfo', `source guest CPU model ${source.cpuModel} differs from ${cfg.cpuModel} on ${cfg.host}`,
      { host: cfg.host, cpuModel: source.cpuModel });
  }
  const missing = source.cpuFeatures.filter((f) => !cfg.cpuFeatures.includes(f));
  if (missing.length > 0) {
    throw new BatonError('InvalidCPUInfo', `CPU features missing on ${cfg.host}: ${missing.join(', ')}`, { host: cfg.host, missing });
  }
  const existing = guests.find((g) => g.spec.uuid === guest.uuid && g.proc.alive);
  if (existing && !existing.incoming) {
    throw new BatonError('MigrationPreCheckError', `instance ${guest.uuid} already runs on ${cfg.host}`, { host: cfg.host, uuid: guest.uuid });
  }
  const capacity = cfg.resources.memoryMb;
  const used = guests.filter((g) => g.proc.alive && g.spec.uuid !== guest.uuid).reduce((sum, g) => sum + g.spec.memoryMb, 0);
  if (capacity - used < guest.memoryMb) {
    throw new BatonError('MigrationPreCheckError', `${cfg.host} has ${capacity - used} MiB free, the guest needs ${guest.memoryMb} MiB`,
      { host: cfg.host, freeMb: capacity - used, neededMb: guest.memoryMb });
  }
  return { hypervisorVersion: info.versionNumber, qemuVersion: info.version, machine, cpuModel: cfg.cpuModel, accel: cfg.accel };
}

export async function checkSource(cfg: ResolvedQemuConfig, inst: QemuInstance): Promise<Record<string, unknown>> {
  const state = await inst.runState();
  if (state !== 'running' && state !== 'paused') {
    throw new BatonError('InstanceInvalidState', `instance ${inst.spec.uuid} is ${state} on ${cfg.host}, not running`,
      { host: cfg.host, uuid: inst.spec.uuid, state });
  }
  if (inst.incoming || ACTIVE_STATUSES.has((await sourceFacts(inst)).status)) {
    throw new BatonError('InstanceInvalidState', `instance ${inst.spec.uuid} is already migrating`, { host: cfg.host, uuid: inst.spec.uuid });
  }
  const info = await probe(cfg);
  return { machine: await resolveMachine(cfg), qemuVersion: info.version, cpuModel: cfg.cpuModel, state, accel: cfg.accel };
}

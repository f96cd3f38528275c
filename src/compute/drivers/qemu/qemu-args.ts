/**
 * Builds the QEMU argument vector from validated fields only. Nothing here reaches a shell: the vector
 * goes to child_process.spawn as is, and every value that lands in it is checked against a strict pattern
 * so that no field can smuggle in an option (QEMU splits option values on commas).
 */
import { BatonError } from '../../../core/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[A-Za-z0-9._-]{1,63}$/;
const MACHINE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const CPU_MODEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Absolute paths without commas, whitespace or anything a QEMU option parser treats specially. */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]{1,200}$/;

export type Accel = 'tcg' | 'kvm';

export interface QemuArgsInput {
  readonly uuid: string;
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly machine: string;
  readonly cpuModel: string;
  readonly accel: Accel;
  readonly kernel: string;
  /** Multiboot command line for the test guest ("d=.. p=.. t=.. h=.."). */
  readonly append: string;
  readonly qmpSocket: string;
  /** The observers' QMP monitor (read-only by convention): state queries that never contend with the agent. */
  readonly observeSocket: string;
  readonly serialLog: string;
  readonly pidFile: string;
  /** Destination only: start paused with `-incoming defer`, waiting for migrate-incoming. */
  readonly incoming: boolean;
}

function invalid(field: string, value: unknown): BatonError {
  return new BatonError('InvalidRequest', `invalid ${field}: ${JSON.stringify(value)}`, { field });
}

export function checkUuid(uuid: string): string {
  if (!UUID.test(uuid)) throw invalid('uuid', uuid);
  return uuid.toLowerCase();
}

export function checkMachine(machine: string): string {
  if (!MACHINE.test(machine)) throw invalid('machine', machine);
  return machine;
}

export function checkCpuModel(model: string): string {
  if (!CPU_MODEL.test(model)) throw invalid('cpuModel', model);
  return model;
}

export function checkSafePath(field: string, path: string): string {
  if (!SAFE_PATH.test(path) || path.split('/').includes('..')) throw invalid(field, path);
  return path;
}

function checkInt(field: string, n: number, min: number, max: number): number {
  if (!Number.isInteger(n) || n < min || n > max) throw invalid(field, n);
  return n;
}

export function buildQemuArgs(a: QemuArgsInput): string[] {
  checkUuid(a.uuid);
  if (!NAME.test(a.name)) throw invalid('name', a.name);
  checkInt('vcpus', a.vcpus, 1, 64);
  checkInt('memoryMb', a.memoryMb, 16, 1_048_576);
  checkMachine(a.machine);
  checkCpuModel(a.cpuModel);
  for (const [field, p] of [['kernel', a.kernel], ['qmpSocket', a.qmpSocket], ['observeSocket', a.observeSocket], ['serialLog', a.serialLog], ['pidFile', a.pidFile]] as const) {
    checkSafePath(field, p);
  }
  if (!/^[a-z0-9= ]{0,200}$/.test(a.append)) throw invalid('append', a.append);
  const args = [
    '-name', `guest=${a.name}`,
    '-uuid', a.uuid,
    '-machine', a.machine,
    '-accel', a.accel,
    '-cpu', a.cpuModel,
    '-m', String(a.memoryMb),
    '-smp', String(a.vcpus),
    '-nodefaults', '-no-user-config',
    '-display', 'none',
    '-monitor', 'none',
    '-serial', `file:${a.serialLog}`,
    '-qmp', `unix:${a.qmpSocket},server=on,wait=off`,
    '-qmp', `unix:${a.observeSocket},server=on,wait=off`,
    '-pidfile', a.pidFile,
    '-kernel', a.kernel,
    '-append', a.append,
  ];
  if (a.incoming) args.push('-incoming', 'defer');
  return args;
}

/**
 * What the local QEMU binary can do: its version, machine types (with aliases resolved to the versioned
 * type, which is what must match across a migration) and CPU models. Probed once, without a shell.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface QemuBinaryInfo {
  readonly version: string;
  /** Nova encoding: major*1_000_000 + minor*1_000 + micro. */
  readonly versionNumber: number;
  /** Machine type (or alias) -> the concrete versioned type it stands for. */
  readonly machines: ReadonlyMap<string, string>;
  readonly cpuModels: ReadonlySet<string>;
}

export function parseVersion(text: string): { version: string; versionNumber: number } {
  const m = /version (\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!m) throw new Error(`cannot parse QEMU version from: ${text.split('\n')[0]}`);
  const [major, minor, micro] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { version: `${major}.${minor}.${micro}`, versionNumber: major * 1_000_000 + minor * 1_000 + micro };
}

export function parseMachines(text: string): Map<string, string> {
  const machines = new Map<string, string>();
  for (const line of text.split('\n').slice(1)) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const alias = /\(alias of ([^)]+)\)/.exec(m[2] ?? '');
    machines.set(m[1]!, alias ? alias[1]! : m[1]!);
  }
  return machines;
}

export function parseCpuModels(text: string): Set<string> {
  const models = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^x86 (\S+)/.exec(line);
    if (m) models.add(m[1]!);
  }
  return models;
}

const cache = new Map<string, Promise<QemuBinaryInfo>>();

/** Probes a binary once per process; a failed probe is not cached so that a later install is seen. */
export function probeQemu(binary: string): Promise<QemuBinaryInfo> {
  let p = cache.get(binary);
  if (!p) {
    p = (async () => {
      const [v, machines, cpus] = await Promise.all([
        run(binary, ['--version']), run(binary, ['-machine', 'help']), run(binary, ['-cpu', 'help']),
      ]);
      return { ...parseVersion(v.stdout), machines: parseMachines(machines.stdout), cpuModels: parseCpuModels(cpus.stdout) };
    })();
    cache.set(binary, p);
    p.catch(() => cache.delete(binary));
  }
  return p;
}

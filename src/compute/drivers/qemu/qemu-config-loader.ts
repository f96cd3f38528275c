/**
 * Reads a qemu driver configuration from untrusted input (a parsed JSON/YAML file, CLI flags): checks
 * every field's type and rejects unknown keys, so that the composition root can hand the result to
 * createQemuDriver. Value checks (paths, machine, policy ranges) happen in resolveQemuConfig.
 */
import { BatonError } from '../../../core/errors.js';
import { loadMonitorPolicy } from './monitor-policy.js';
import type { GuestWorkload, QemuDriverConfig } from './qemu-config.js';

type Kind = 'string' | 'number' | 'object' | 'string[]' | 'boolean';
const FIELDS: Record<string, Kind> = {
  host: 'string', stateDir: 'string', guestKernel: 'string', binary: 'string', accel: 'string', machine: 'string',
  cpuModel: 'string', cpuFeatures: 'string[]', migrationAddress: 'string', images: 'object', resources: 'object',
  policy: 'object', startTimeoutMs: 'number', finishTimeoutMs: 'number', keepGuestsOnClose: 'boolean',
};

function bad(message: string, field: string): BatonError {
  return new BatonError('InvalidRequest', `qemu driver config: ${message}`, { field });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkKind(key: string, value: unknown, kind: Kind): void {
  const ok = kind === 'boolean' ? typeof value === 'boolean'
    : kind === 'string[]' ? Array.isArray(value) && value.every((x) => typeof x === 'string')
    : kind === 'object' ? isObject(value)
      : kind === 'number' ? typeof value === 'number' && Number.isFinite(value) && value > 0
        : typeof value === 'string' && value.length > 0;
  if (!ok) throw bad(`${key} must be ${kind === 'number' ? 'a positive number' : `a ${kind}`}`, key);
}

function loadImages(raw: Record<string, unknown>): Record<string, GuestWorkload> {
  const images: Record<string, GuestWorkload> = {};
  for (const [ref, w] of Object.entries(raw)) {
    if (!isObject(w) || typeof w.dirtyMib !== 'number' || typeof w.dirtyRateMibps !== 'number') {
      throw bad(`images.${ref} must be { dirtyMib: number, dirtyRateMibps: number }`, 'images');
    }
    images[ref] = { dirtyMib: w.dirtyMib, dirtyRateMibps: w.dirtyRateMibps };
  }
  return images;
}

/**
 * Merges `raw` over `defaults` (e.g. host and stateDir from the CLI) and checks the result's shape.
 * The monitor policy is validated here too, so a typo in it fails at start-up.
 */
export function loadQemuDriverConfig(raw: unknown, defaults: Partial<QemuDriverConfig> = {}): QemuDriverConfig {
  if (!isObject(raw)) throw bad('must be an object', '');
  const merged: Record<string, unknown> = { ...defaults, ...raw };
  for (const [key, value] of Object.entries(merged)) {
    if (key === 'clock') continue;
    const kind = FIELDS[key];
    if (!kind) throw bad(`unknown option ${key}`, key);
    if (value !== undefined) checkKind(key, value, kind);
  }
  for (const required of ['host', 'stateDir', 'guestKernel']) {
    if (merged[required] === undefined) throw bad(`${required} is required`, required);
  }
  if (isObject(merged.images)) merged.images = loadImages(merged.images);
  if (isObject(merged.policy)) loadMonitorPolicy(merged.policy);
  return merged as unknown as QemuDriverConfig;
}

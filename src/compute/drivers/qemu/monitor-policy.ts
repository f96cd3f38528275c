/**
 * The live-migration monitor policy, modelled on Nova's libvirt driver options. Pure: no I/O.
 * Field names map to Nova's [libvirt] options (live_migration_downtime, ..._steps, ..._delay,
 * live_migration_completion_timeout, live_migration_timeout_action, live_migration_permit_post_copy,
 * live_migration_permit_auto_converge, live_migration_bandwidth).
 */
import { BatonError } from '../../../core/errors.js';

export const TimeoutAction = { ABORT: 'abort', FORCE_COMPLETE: 'force_complete' } as const;
export type TimeoutAction = (typeof TimeoutAction)[keyof typeof TimeoutAction];

export interface MonitorPolicy {
  /** live_migration_downtime: the final (largest) downtime limit, in ms. */
  readonly downtimeMs: number;
  /** live_migration_downtime_steps: how many increments lead up to the final limit. */
  readonly downtimeSteps: number;
  /** live_migration_downtime_delay: seconds per GiB of guest data between two steps. */
  readonly downtimeDelaySPerGib: number;
  /** live_migration_completion_timeout: seconds per GiB before timeoutAction; 0 disables. */
  readonly completionTimeoutSPerGib: number;
  readonly timeoutAction: TimeoutAction;
  readonly permitPostCopy: boolean;
  readonly permitAutoConverge: boolean;
  /** live_migration_bandwidth in MiB/s; 0 means unlimited. */
  readonly maxBandwidthMibps: number;
  /** No lower low-water mark of remaining RAM for this long aborts the migration; 0 disables. */
  readonly stallTimeoutS: number;
  /** Nova counts at least 2 GiB of data per guest; tests lower it so that small guests step quickly. */
  readonly minDataGib: number;
  /** How often query-migrate is polled (MIGRATION events wake the monitor earlier). */
  readonly pollIntervalMs: number;
}

export const DEFAULT_MONITOR_POLICY: MonitorPolicy = {
  downtimeMs: 500,
  downtimeSteps: 10,
  downtimeDelaySPerGib: 75,
  completionTimeoutSPerGib: 800,
  timeoutAction: 'abort',
  permitPostCopy: false,
  permitAutoConverge: false,
  maxBandwidthMibps: 0,
  stallTimeoutS: 0,
  minDataGib: 2,
  pollIntervalMs: 500,
};

const NUMBER_FIELDS: Record<string, { min: number; max: number; integer: boolean }> = {
  downtimeMs: { min: 1, max: 600_000, integer: true },
  downtimeSteps: { min: 1, max: 1_000, integer: true },
  downtimeDelaySPerGib: { min: 0, max: 86_400, integer: false },
  completionTimeoutSPerGib: { min: 0, max: 86_400, integer: false },
  maxBandwidthMibps: { min: 0, max: 1_000_000, integer: true },
  stallTimeoutS: { min: 0, max: 86_400, integer: false },
  minDataGib: { min: 0, max: 1_024, integer: false },
  pollIntervalMs: { min: 10, max: 60_000, integer: true },
};
const BOOL_FIELDS = ['permitPostCopy', 'permitAutoConverge'];

function bad(message: string, field: string): BatonError {
  return new BatonError('InvalidRequest', `monitor policy: ${message}`, { field });
}

/**
 * Validates a partial policy (e.g. parsed from a config file) and fills in Nova's defaults.
 * Unknown keys are rejected so that a typo does not silently keep a default.
 */
export function loadMonitorPolicy(raw: unknown = {}): MonitorPolicy {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('must be an object', '');
  const out: Record<string, unknown> = { ...DEFAULT_MONITOR_POLICY };
  for (const [key, value] of Object.entries(raw)) {
    const num = NUMBER_FIELDS[key];
    if (num) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < num.min || value > num.max || (num.integer && !Number.isInteger(value))) {
        throw bad(`${key} must be ${num.integer ? 'an integer' : 'a number'} in [${num.min}, ${num.max}]`, key);
      }
    } else if (BOOL_FIELDS.includes(key)) {
      if (typeof value !== 'boolean') throw bad(`${key} must be a boolean`, key);
    } else if (key === 'timeoutAction') {
      if (value !== 'abort' && value !== 'force_complete') throw bad('timeoutAction must be "abort" or "force_complete"', key);
    } else {
      throw bad(`unknown option ${key}`, key);
    }
    out[key] = value;
  }
  return out as unknown as MonitorPolicy;
}

/** Nova's data size: guest RAM in GiB, at least minDataGib. */
export function dataGib(policy: MonitorPolicy, memoryMb: number): number {
  return Math.max(memoryMb / 1024, policy.minDataGib);
}

export interface DowntimeStep {
  /** When the step applies, in ms since the migration started. */
  readonly atMs: number;
  readonly downtimeMs: number;
}

/** Nova's downtime_steps: steps+1 limits rising linearly from downtime/steps to downtime. */
export function downtimeSteps(policy: MonitorPolicy, memoryMb: number): DowntimeStep[] {
  const delayMs = policy.downtimeDelaySPerGib * dataGib(policy, memoryMb) * 1000;
  const base = policy.downtimeMs / policy.downtimeSteps;
  const offset = (policy.downtimeMs - base) / policy.downtimeSteps;
  const steps: DowntimeStep[] = [];
  for (let i = 0; i <= policy.downtimeSteps; i++) {
    steps.push({ atMs: Math.trunc(delayMs * i), downtimeMs: Math.max(1, Math.trunc(base + offset * i)) });
  }
  return steps;
}

/** The completion timeout in ms for a guest of this size; 0 when disabled. */
export function completionTimeoutMs(policy: MonitorPolicy, memoryMb: number): number {
  return Math.trunc(policy.completionTimeoutSPerGib * dataGib(policy, memoryMb) * 1000);
}

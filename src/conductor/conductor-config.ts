/** Conductor settings, compiled once at start-up. */
import { DEFAULT_LIMITS, type HostLimits, type MigrationLimits } from '../core/admission.js';
import { DEFAULT_DRAIN_CONFIG, type DrainConfig } from '../core/drain.js';
import { DEFAULT_WORKFLOW_CONFIG, type WorkflowConfig } from '../core/migration-state.js';

export interface ConductorConfig {
  readonly workflow: WorkflowConfig;
  /** Nova's service_down_time: a compute silent for longer is down. */
  readonly serviceDownTimeMs: number;
  /** How often due deadlines and retries are looked for. */
  readonly tickMs: number;
  /** Timeout of plain calls outside migrations (spawn, destroy). */
  readonly callTimeoutMs: number;
  /** Delay after which a migration whose start message was lost is started by the timer. */
  readonly startGraceMs: number;
  /** How often the reconciler compares every compute's guests with the store (also run when a compute restarts). */
  readonly reconcileIntervalMs: number;
  /** The audit reports a live migration whose wake-up time passed longer ago than this. */
  readonly overdueWakeupMs: number;
  /** The audit reports a live migration whose record has not changed for this long. */
  readonly staleMigrationMs: number;
  /** Concurrency limits (every conductor of a deployment must use the same). */
  readonly limits: MigrationLimits;
  /** Server-side drains. */
  readonly drain: DrainConfig;
}

export const DEFAULT_CONDUCTOR_CONFIG: ConductorConfig = {
  workflow: DEFAULT_WORKFLOW_CONFIG,
  serviceDownTimeMs: 60_000,
  tickMs: 250,
  callTimeoutMs: 60_000,
  startGraceMs: 5_000,
  reconcileIntervalMs: 30_000,
  overdueWakeupMs: 60_000,
  // Longer than any single step deadline: a migration that is being driven changes its record more often.
  staleMigrationMs: 900_000,
  limits: DEFAULT_LIMITS,
  drain: DEFAULT_DRAIN_CONFIG,
};

export type ConductorOverrides = Partial<Omit<ConductorConfig, 'workflow' | 'limits' | 'drain'>> & {
  workflow?: Partial<WorkflowConfig>;
  limits?: Partial<Omit<MigrationLimits, 'hosts'>> & { hosts?: Readonly<Record<string, HostLimits>> };
  drain?: Partial<DrainConfig>;
};

export function conductorConfig(overrides: ConductorOverrides = {}): ConductorConfig {
  return { ...DEFAULT_CONDUCTOR_CONFIG, ...overrides, workflow: { ...DEFAULT_WORKFLOW_CONFIG, ...overrides.workflow },
    limits: { ...DEFAULT_LIMITS, ...overrides.limits, hosts: { ...overrides.limits?.hosts } },
    drain: { ...DEFAULT_DRAIN_CONFIG, ...overrides.drain } };
}

/**
 * What a reconcile/audit pass finds and does: anomalies (reported, never guessed away) and repairs
 * (made only where the hypervisors' facts leave one safe answer). Plain data shared by the conductor,
 * the store and the API.
 */

export const AnomalyKind = {
  /** Two hosts run the guest: never repaired automatically, an operator must choose. */
  TWO_RUNNING: 'two-running-copies',
  /** The recorded host answered and has no running copy, and no other host runs one. */
  GUEST_MISSING: 'guest-missing',
  /** No host runs the guest, and the recorded host has a stopped copy (paused, postmigrate, incoming). */
  GUEST_NOT_RUNNING: 'guest-not-running',
  /** A copy runs on another host while the recorded host cannot be asked: maybe two copies, maybe a wrong record. */
  UNVERIFIED: 'running-elsewhere-unverified',
  /** A hypervisor has a guest that no instance record names. */
  UNKNOWN_GUEST: 'unknown-guest',
  /** A live migration whose wake-up time passed long ago: nobody is driving it. */
  MIGRATION_OVERDUE: 'migration-overdue',
  /** A live migration whose record has not changed for too long. */
  MIGRATION_STALE: 'migration-stale',
  /** A repair was decided but could not be carried out. */
  REPAIR_FAILED: 'repair-failed',
} as const;
export type AnomalyKind = (typeof AnomalyKind)[keyof typeof AnomalyKind];

export const Severity = { CRITICAL: 'critical', WARNING: 'warning' } as const;
export type Severity = (typeof Severity)[keyof typeof Severity];

export interface AuditAnomaly {
  readonly kind: AnomalyKind;
  readonly severity: Severity;
  readonly instanceUuid: string | null;
  readonly migrationId: number | null;
  /** Every host the anomaly involves, e.g. both hosts of two running copies. */
  readonly hosts: readonly string[];
  readonly message: string;
}

export const RepairKind = {
  /** A stopped copy off the recorded host, whose migration is terminal, was destroyed. */
  DESTROY_STRAY: 'destroy-stray',
  /** The record named a host without the guest; it now names the host where the only running copy is. */
  FIX_HOST: 'fix-host',
  /** A migration that had not switched over was told its destination guest runs. */
  SWITCHED_OVER: 'switched-over',
  /** A claim without a live migration or without its instance was released. */
  DELETE_CLAIM: 'delete-claim',
} as const;
export type RepairKind = (typeof RepairKind)[keyof typeof RepairKind];

export interface AuditRepair {
  readonly at: number;
  readonly conductor: string;
  readonly kind: RepairKind;
  readonly instanceUuid: string | null;
  readonly migrationId: number | null;
  readonly host: string | null;
  readonly message: string;
}

export interface UnreachableHost {
  readonly host: string;
  readonly reason: string;
}

/** The latest pass, as stored: it replaces the one before. Repairs are kept separately, as a history. */
export interface AuditPass {
  readonly checkedAt: number;
  readonly conductor: string;
  readonly durationMs: number;
  /** Hosts whose guests were compared. */
  readonly hostsChecked: readonly string[];
  /** Hosts that are down or did not answer: their guests are unknown, not missing. */
  readonly unreachable: readonly UnreachableHost[];
  readonly anomalies: readonly AuditAnomaly[];
}

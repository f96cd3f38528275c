/**
 * HypervisorDriver: what a compute agent needs from a hypervisor. The driver's own registry of guests
 * is the ground truth of what runs on this host; the store only records what the conductor decided.
 * Every method is safe to call twice for the same guest (the agent dedupes, drivers tolerate repeats),
 * and every decision is taken from the hypervisor's facts, not from memory: a driver built after an agent
 * restart (on the same state) decides as the one before it would have. test/compute/driver-contract.test.ts
 * holds every driver to this.
 */
import type { Progress } from '../core/migration-state.js';

export interface HostResources {
  readonly hypervisorType: string;
  /** Nova encoding: major*1_000_000 + minor*1_000 + micro. */
  readonly hypervisorVersion: number;
  readonly cpuModel: string;
  readonly cpuFeatures: readonly string[];
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
}

export interface GuestSpec {
  readonly uuid: string;
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
  readonly imageRef: string;
}

/** Where a guest stands on this host, as the hypervisor sees it. */
export const GuestState = {
  RUNNING: 'running',
  PAUSED: 'paused',
  /** Destination side: waiting for an incoming migration stream. */
  INCOMING: 'incoming',
  /** Source side: the stream is flowing out. */
  MIGRATING: 'migrating',
  /** Source side after switch-over: stopped, its state now lives on the destination. */
  POSTMIGRATE: 'postmigrate',
} as const;
export type GuestState = (typeof GuestState)[keyof typeof GuestState];

export interface GuestInfo {
  readonly uuid: string;
  readonly state: GuestState;
}

/** Returned by the destination's prepare step and handed to the source's migrate step. */
export interface IncomingInfo extends Record<string, unknown> {
  /** Where the source sends the migration stream, e.g. "tcp:127.0.0.1:49152". */
  readonly uri: string;
}

export interface MigrateRequest {
  readonly guest: GuestSpec;
  readonly migrationId: number;
  readonly destHost: string;
  readonly incoming: IncomingInfo;
}

export interface MigrateResult extends Record<string, unknown> {
  /** Measured or simulated guest downtime of the switch-over. */
  readonly downtimeMs: number;
  readonly totalTimeMs: number;
  readonly postcopy: boolean;
}

export interface HypervisorDriver {
  readonly type: string;
  /** Capacity and identity of this hypervisor, reported to the conductor with each heartbeat. */
  hostResources(): Promise<HostResources>;
  /** The driver's registry: every guest this hypervisor has, in its current state. */
  listGuests(): Promise<GuestInfo[]>;
  spawn(guest: GuestSpec): Promise<void>;
  destroy(uuid: string): Promise<void>;
  /** Hypervisor-level destination checks (binary, machine type, CPU, memory); throws a typed BatonError. */
  checkDestination(guest: GuestSpec, source: { cpuModel: string; cpuFeatures: readonly string[] }): Promise<Record<string, unknown>>;
  /** Hypervisor-level source checks: the guest runs here and can be migrated; throws a typed BatonError. */
  checkSource(guest: GuestSpec): Promise<Record<string, unknown>>;
  /** Destination: start an empty guest that waits for the stream. */
  prepareIncoming(guest: GuestSpec, migrationId: number): Promise<IncomingInfo>;
  /**
   * Source: stream the guest to the destination, reporting progress, and resolve once the guest runs
   * there (the source is then in POSTMIGRATE). Rejects with MigrationCancelled after abortMigration,
   * or MigrationError on any other failure, leaving the source guest running. Called again for the same
   * migration (a redelivery, or a re-run after an agent restart) it joins the copy in flight, or answers
   * how the copy ended as the hypervisor shows it; it never starts a second copy of one migration.
   */
  migrate(req: MigrateRequest, onProgress: (p: Progress) => void): Promise<MigrateResult>;
  /** Source: cancel a running migration; migrate() then rejects with MigrationCancelled. No-op when none runs. */
  abortMigration(uuid: string): Promise<void>;
  /** Source: finish now (post-copy when allowed, else pause the guest so the copy converges). No-op when none runs. */
  forceComplete(uuid: string): Promise<void>;
  /** post_live_migration_at_source: remove the stopped source copy. */
  cleanupSource(uuid: string): Promise<void>;
  /** post_live_migration_at_destination: make sure the guest runs here. */
  finishIncoming(uuid: string): Promise<void>;
  /**
   * rollback_live_migration_at_destination: remove the incoming guest and its files. A guest that arrived
   * (it runs, or is paused, here) is the only running copy: refused with MigrationSwitchedOver.
   */
  rollbackDestination(uuid: string): Promise<void>;
  /**
   * rollback_live_migration_at_source: cancel a copy still running and make sure the guest runs here again.
   * A guest whose state moved to the destination (POSTMIGRATE, the copy completed, post-copy started) is
   * never resumed: refused with MigrationSwitchedOver (fields host, uuid, evidence).
   */
  rollbackSource(uuid: string): Promise<void>;
  close(): Promise<void>;
}

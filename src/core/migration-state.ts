/** The persisted state of one migration workflow, its events and the commands it emits. */
import type { ErrorBody } from './errors.js';
import type { Flavor } from './model.js';
import type { MigrationProgress, MigrationStatus } from './migration-status.js';
import type { RemoteStepState, SendKind, Step, StepStatus } from './migration-steps.js';

/** What a compute needs to know about its peer, carried in the workflow so the RPC arguments are pure. */
export interface HostDescriptor {
  readonly host: string;
  readonly hostIp: string;
  readonly hypervisorType: string;
  readonly hypervisorVersion: number;
  readonly cpuModel: string;
  readonly cpuFeatures: readonly string[];
  readonly rpcVersion: string;
}

export interface InstanceRef {
  readonly uuid: string;
  readonly name: string;
  readonly flavor: Flavor;
  /** The destination starts its empty guest from the same image. */
  readonly imageRef: string;
}

export interface StepState {
  readonly host: string;
  readonly attempt: number;
  readonly status: StepStatus;
  readonly sentAt: number;
  /** When the conductor stops waiting and asks the compute; null once resolved. */
  readonly deadline: number | null;
  /** Status queries sent for this attempt without an answer. */
  readonly queries: number;
  /** "Still running" answers accepted for this attempt. */
  readonly waits: number;
  /** For retried steps: when the next attempt is sent. */
  readonly retryAt: number | null;
  readonly result?: Record<string, unknown>;
  readonly error?: ErrorBody;
}

/** `queued`: waiting for a concurrency slot (see admission.ts); it holds none and has no destination claimed. */
export type Phase = 'new' | 'queued' | 'checks' | 'preparing' | 'migrating' | 'post' | 'rollback' | 'done';

/** Why a queued migration waits, since when (the first refusal), and when to ask again unwoken (null: when woken). */
export interface QueueWait {
  readonly reason: string;
  readonly since: number;
  readonly retryAt: number | null;
}

export interface WorkflowState {
  readonly migrationId: number;
  readonly instance: InstanceRef;
  readonly source: HostDescriptor;
  readonly dest: HostDescriptor | null;
  readonly requestedHost: string | null;
  readonly blockMigration: boolean | 'auto';
  readonly status: MigrationStatus;
  readonly phase: Phase;
  readonly steps: Partial<Record<Step, StepState>>;
  readonly excluded: readonly string[];
  readonly scheduleAttempts: number;
  readonly switchedOver: boolean;
  readonly abortRequested: boolean;
  /** Terminal status the rollback leads to. */
  readonly ending: 'failed' | 'cancelled' | 'error' | null;
  /** The first error: why the migration did not complete. */
  readonly error: string | null;
  /** What could not be cleaned up (for status `error`). */
  readonly leftovers: readonly string[];
  readonly progress: MigrationProgress | null;
  readonly history: readonly { readonly status: MigrationStatus; readonly at: number }[];
  /** Set while the migration waits for a slot; absent in states written before the limits existed. */
  readonly queue?: QueueWait | null;
}

export interface Progress extends MigrationProgress {
  readonly postcopy?: boolean;
  readonly dirtyRateMbps?: number;
  readonly expectedDowntimeMs?: number;
  readonly iteration?: number;
}

export type WorkflowEvent =
  | { readonly type: 'start' }
  | { readonly type: 'scheduled'; readonly dest: HostDescriptor }
  | { readonly type: 'schedule-failed'; readonly error: ErrorBody }
  /**
   * A concurrency limit (or an older migration in the queue) keeps it waiting; it is woken when a slot frees.
   * With `retryAt`, the decision could not be made now (the admission lock was busy): ask again then.
   */
  | { readonly type: 'must-wait'; readonly reason: string; readonly retryAt: number | null }
  | { readonly type: 'acked'; readonly step: Step; readonly attempt: number }
  | { readonly type: 'done'; readonly step: Step; readonly attempt: number; readonly result?: Record<string, unknown> }
  | { readonly type: 'failed'; readonly step: Step; readonly attempt: number; readonly error: ErrorBody }
  | { readonly type: 'timeout'; readonly step: Step; readonly attempt: number }
  | { readonly type: 'status'; readonly step: Step; readonly attempt: number; readonly state: RemoteStepState;
      readonly result?: Record<string, unknown>; readonly error?: ErrorBody }
  | { readonly type: 'query-failed'; readonly step: Step; readonly attempt: number; readonly error: ErrorBody }
  | { readonly type: 'progress'; readonly attempt: number; readonly progress: Progress }
  | { readonly type: 'tick' }
  | { readonly type: 'recover' }
  | { readonly type: 'abort' }
  | { readonly type: 'force-complete' }
  /**
   * A hypervisor fact proves the guest now runs on `host` (the destination): its incoming guest runs, or the
   * source's migration completed. The workflow flips the record and goes to the post steps; it never rolls back.
   */
  | { readonly type: 'switched-over'; readonly host: string; readonly evidence: string };

export type WorkflowCommand =
  /**
   * Take a concurrency slot, then pick and claim a destination, inside this transaction; answers with
   * `scheduled`, `must-wait` (over a limit) or `schedule-failed`.
   */
  | { readonly type: 'schedule'; readonly requestedHost: string | null; readonly excluded: readonly string[] }
  /** Journal the attempt as sent in this transaction, send it after commit. */
  | { readonly type: 'send'; readonly step: Step; readonly host: string; readonly attempt: number;
      readonly kind: SendKind; readonly timeoutMs: number; readonly args: Record<string, unknown> }
  /** Ask the compute, after commit, what became of an attempt. */
  | { readonly type: 'query'; readonly step: Step; readonly host: string; readonly attempt: number; readonly timeoutMs: number }
  | { readonly type: 'journal'; readonly step: Step; readonly host: string; readonly attempt: number;
      readonly status: StepStatus; readonly error?: ErrorBody }
  | { readonly type: 'release-claim' }
  /** Update the instance record in this transaction; `host` is set only at switch-over. */
  | { readonly type: 'instance'; readonly host?: string; readonly taskState: 'migrating' | null };

export interface WorkflowConfig {
  readonly checkTimeoutMs: number;
  readonly preTimeoutMs: number;
  /** live_migration: longest silence (no progress, no "running" answer) before the source is asked. */
  readonly migrateStallMs: number;
  /** live_migration: "still running" answers accepted before the conductor gives up (bounds the total time). */
  readonly migrateMaxWaits: number;
  readonly postTimeoutMs: number;
  readonly rollbackTimeoutMs: number;
  readonly queryTimeoutMs: number;
  /** Unanswered status queries before a step counts as failed. */
  readonly maxQueries: number;
  /** Attempts for a step that must finish (post, rollback) and for re-sends of undelivered requests. */
  readonly maxAttempts: number;
  readonly retryBackoffMs: number;
  readonly migrateMaxRetries: number;
}

export const DEFAULT_WORKFLOW_CONFIG: WorkflowConfig = {
  checkTimeoutMs: 60_000,
  preTimeoutMs: 60_000,
  migrateStallMs: 150_000,
  migrateMaxWaits: 100,
  postTimeoutMs: 60_000,
  rollbackTimeoutMs: 60_000,
  queryTimeoutMs: 10_000,
  maxQueries: 3,
  maxAttempts: 5,
  retryBackoffMs: 2_000,
  migrateMaxRetries: 5,
};

export interface WorkflowContext {
  readonly now: number;
  readonly config: WorkflowConfig;
}

export interface Transition {
  readonly state: WorkflowState;
  readonly commands: readonly WorkflowCommand[];
}

/** Nova's live-migration statuses, kept verbatim so that Nova's clients understand them. */
export const MigrationStatus = {
  ACCEPTED: 'accepted',
  QUEUED: 'queued',
  PREPARING: 'preparing',
  RUNNING: 'running',
  RUNNING_POSTCOPY: 'running (post-copy)',
  POST_MIGRATING: 'post-migrating',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  ERROR: 'error',
} as const;
export type MigrationStatus = (typeof MigrationStatus)[keyof typeof MigrationStatus];

export const TERMINAL_STATUSES: readonly MigrationStatus[] = ['completed', 'failed', 'cancelled', 'error'];

export function isTerminal(status: MigrationStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Progress counters, in bytes, as Nova reports them on server migrations. */
export interface MigrationProgress {
  readonly memoryTotal: number;
  readonly memoryProcessed: number;
  readonly memoryRemaining: number;
  readonly diskTotal: number;
  readonly diskProcessed: number;
  readonly diskRemaining: number;
}

export const NO_PROGRESS: MigrationProgress = {
  memoryTotal: 0, memoryProcessed: 0, memoryRemaining: 0, diskTotal: 0, diskProcessed: 0, diskRemaining: 0,
};

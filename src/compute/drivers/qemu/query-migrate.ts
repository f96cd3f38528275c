/** The subset of QEMU's `query-migrate` answer (qapi/migration.json MigrationInfo) that Baton reads. */
import type { Progress } from '../../../core/migration-state.js';

export interface QueryMigrateRam {
  readonly transferred: number;
  readonly remaining: number;
  readonly total: number;
  readonly 'dirty-pages-rate'?: number;
  readonly 'page-size'?: number;
  readonly 'dirty-sync-count'?: number;
  readonly mbps?: number;
}

export interface QueryMigrate {
  /** MigrationStatus: none, setup, active, postcopy-active, completed, failed, cancelling, cancelled, ... */
  readonly status?: string;
  readonly ram?: QueryMigrateRam;
  readonly 'expected-downtime'?: number;
  readonly downtime?: number;
  readonly 'total-time'?: number;
  readonly 'error-desc'?: string;
  /** Destination only: where migrate-incoming listens (lets QEMU pick the port with port 0). */
  readonly 'socket-address'?: readonly { type: string; host?: string; port?: string }[];
}

const MIB = 1024 * 1024;

/** Maps QEMU's counters onto Nova's progress fields; dirty rate in MiB/s, like the fake driver. */
export function toProgress(info: QueryMigrate, postcopy: boolean): Progress {
  const ram = info.ram;
  const pageSize = ram?.['page-size'] ?? 4096;
  const progress: Progress = {
    memoryTotal: ram?.total ?? 0,
    memoryProcessed: ram?.transferred ?? 0,
    memoryRemaining: ram?.remaining ?? 0,
    diskTotal: 0,
    diskProcessed: 0,
    diskRemaining: 0,
    postcopy,
    dirtyRateMbps: ((ram?.['dirty-pages-rate'] ?? 0) * pageSize) / MIB,
    iteration: ram?.['dirty-sync-count'] ?? 0,
  };
  const expected = info['expected-downtime'];
  return expected === undefined ? progress : { ...progress, expectedDowntimeMs: expected };
}

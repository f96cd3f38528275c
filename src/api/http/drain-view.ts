/**
 * The JSON of /v2.1/baton/hosts/{host}/drain. These types are the contract: `baton host drain` imports
 * them instead of guessing the shape.
 */
import { Admission } from '../../core/admission.js';
import type { DrainStatus, ItemStatus } from '../../core/drain.js';
import type { MigrationStatus } from '../../core/migration-status.js';
import type { DrainRow } from '../../store/store.js';
import { novaTime } from './time-format.js';

export interface DrainInstanceView {
  readonly instance_uuid: string;
  readonly name: string;
  readonly status: ItemStatus;
  /** The migration moving it now, or the last one; null before the first. */
  readonly migration_id: number | null;
  readonly migration_status: MigrationStatus | null;
  /** Its migration waits for a concurrency slot (counted as queued, not migrating). */
  readonly queued: boolean;
  readonly attempts: number;
  /** Why it is blocked, or how the last attempt ended (the scheduler's reasons, the migration's error). */
  readonly reason: string | null;
  readonly moved_to: string | null;
}

export interface DrainCounts {
  readonly total: number;
  /** No migration yet (about to get one, or waiting for the instance to be movable). */
  readonly pending: number;
  /** A migration waits for a concurrency slot. */
  readonly queued: number;
  /** A migration holds its slots: checks, copy, post. */
  readonly migrating: number;
  readonly moved: number;
  readonly blocked: number;
  readonly gone: number;
}

export interface DrainView {
  readonly host: string;
  /** running, cancelling, then drained, blocked or cancelled. */
  readonly status: DrainStatus;
  /** The host's disabled_reason. */
  readonly reason: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly finished_at: string | null;
  /** The conductor that ran the latest pass, and how many passes ran. */
  readonly driven_by: string | null;
  readonly passes: number;
  readonly counts: DrainCounts;
  readonly instances: readonly DrainInstanceView[];
  /** The instances it could not move, and why. */
  readonly blocked: readonly { readonly instance_uuid: string; readonly name: string; readonly reason: string | null }[];
}

export interface DrainReply {
  readonly drain: DrainView;
}

/** What the view reads of each item's migration. */
export interface DrainMigrationFacts {
  readonly status: MigrationStatus;
  readonly admission: Admission | null;
}

export function drainReply(row: DrainRow, migrations: ReadonlyMap<number, DrainMigrationFacts>): DrainReply {
  const s = row.state;
  const items = s.items.map((it): DrainInstanceView => {
    const m = it.migrationId === null ? undefined : migrations.get(it.migrationId);
    return { instance_uuid: it.instanceUuid, name: it.name, status: it.status, migration_id: it.migrationId,
      migration_status: m?.status ?? null, queued: it.status === 'migrating' && m?.admission === Admission.WAITING,
      attempts: it.attempts, reason: it.reason, moved_to: it.movedTo };
  });
  const n = (st: ItemStatus) => items.filter((i) => i.status === st).length;
  const queued = items.filter((i) => i.queued).length;
  return {
    drain: {
      host: row.host, status: row.status, reason: s.reason, created_at: novaTime(row.createdAt)!, updated_at: novaTime(row.updatedAt)!,
      finished_at: novaTime(s.finishedAt), driven_by: s.drivenBy, passes: s.passes,
      counts: { total: items.length, pending: n('pending'), queued, migrating: n('migrating') - queued, moved: n('moved'), blocked: n('blocked'),
        gone: n('gone') },
      instances: items,
      blocked: items.filter((i) => i.status === 'blocked').map((i) => ({ instance_uuid: i.instance_uuid, name: i.name, reason: i.reason })),
    },
  };
}

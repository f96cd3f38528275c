/**
 * What QEMU itself says about a guest's outgoing migration: its run state (query-status), its migrate
 * status (query-migrate) and the agent's outgoing marker, read together. Every source-side decision
 * (may this guest be resumed, is a migration still copying, did it switch over) is taken from these,
 * never from what an agent remembers, since a restart erases memory while QEMU keeps copying.
 */
import { BatonError } from '../../../core/errors.js';
import type { MigrateResult } from '../../driver-port.js';
import { readOutgoingMarker, type OutgoingMarker } from './migration-markers.js';
import type { QemuInstance } from './qemu-instance.js';
import type { QueryMigrate } from './query-migrate.js';

/** QEMU migration statuses while an outgoing stream is in progress. */
export const ACTIVE_STATUSES: ReadonlySet<string> = new Set([
  'setup', 'active', 'cancelling', 'pre-switchover', 'device', 'wait-unplug', 'colo', 'postcopy-active', 'postcopy-paused', 'postcopy-recover',
]);
/** Post-copy statuses: the guest already runs on the destination; the source holds only part of its memory. */
export const POSTCOPY_STATUSES: ReadonlySet<string> = new Set(['postcopy-active', 'postcopy-paused', 'postcopy-recover']);
/** Run states of a source that stopped for good and handed its state over. */
const SWITCHED_RUN_STATES: ReadonlySet<string> = new Set(['postmigrate', 'finish-migrate']);

export interface SourceFacts {
  /** query-status, or 'gone' once QEMU exited. */
  readonly runState: string;
  /** query-migrate's status when it is about an outgoing migration, else 'none'. */
  readonly status: string;
  readonly info: QueryMigrate | null;
  readonly marker: OutgoingMarker | null;
}

export async function sourceFacts(inst: QemuInstance): Promise<SourceFacts> {
  const runState = await inst.runState();
  const marker = await readOutgoingMarker(inst.paths.outgoingMarker);
  const info = runState === 'gone' ? null : await inst.migrateInfo();
  let status = info?.status ?? 'none';
  if (runState === 'inmigrate' || runState === 'prelaunch') {
    // A destination still waiting or loading: the status is about the incoming stream.
    status = 'none';
  } else if (status === 'completed' && inst.startedIncoming && !marker?.issued && !SWITCHED_RUN_STATES.has(runState)) {
    // The guest arrived here by migration and never left: `completed` describes its arrival.
    status = 'none';
  }
  return { runState, status, info, marker };
}

/** Why the guest's state now lives on the destination, or null when this QEMU still holds the whole guest. */
export function switchOverEvidence(f: SourceFacts, inst: QemuInstance): string | null {
  const which = f.marker ? ` (migration ${f.marker.migrationId})` : '';
  if (SWITCHED_RUN_STATES.has(f.runState)) return `source QEMU run state is ${f.runState}${which}`;
  if (POSTCOPY_STATUSES.has(f.status)) return `source query-migrate status is ${f.status}: post-copy started${which}`;
  if (f.status === 'completed') return `source query-migrate status is completed${which}`;
  if (inst.postcopyStarted) return `post-copy started${which}`;
  return null;
}

export function switchedOver(host: string, inst: QemuInstance, evidence: string): BatonError {
  return new BatonError('MigrationSwitchedOver', `guest ${inst.spec.uuid} switched over to its destination; it is not resumed on ${host}: ${evidence}`,
    { host, uuid: inst.spec.uuid, evidence });
}

/** A completed migration's result, from query-migrate (downtime and total time as QEMU measured them). */
export function resultOf(info: QueryMigrate | null, postcopy: boolean): MigrateResult {
  return {
    downtimeMs: info?.downtime ?? 0, totalTimeMs: info?.['total-time'] ?? 0, postcopy,
    transferredBytes: info?.ram?.transferred ?? 0, passes: info?.ram?.['dirty-sync-count'] ?? 0,
  };
}

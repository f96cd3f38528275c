/**
 * Accepting a live-migration request, as the API does: the synchronous checks that Nova's API makes
 * (instance state, known host, not to itself), then the migration record in status `accepted` and the
 * instance's task_state in one transaction (store/live-migration-record.ts), then a cast to the
 * conductor, which owns the rest.
 */
import { BatonError } from '../core/errors.js';
import type { Clock, IdGenerator } from '../core/ports.js';
import { CONDUCTOR_RPC_VERSION, ConductorMethod } from '../rpc/conductor-api.js';
import type { RpcClient } from '../rpc/rpc-client.js';
import { CONDUCTOR_TOPIC } from '../rpc/transport.js';
import { recordLiveMigration, type LiveMigrationRequest } from '../store/live-migration-record.js';
import type { MigrationRow, Store } from '../store/store.js';

export interface RequestDeps {
  readonly store: Store;
  readonly rpc: RpcClient;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** After this long without its start message, the conductor's timer starts the migration anyway. */
  readonly startGraceMs: number;
}

export type { LiveMigrationRequest };

export async function requestLiveMigration(d: RequestDeps, req: LiveMigrationRequest): Promise<MigrationRow> {
  const row = await d.store.transaction((tx) => recordLiveMigration(tx, req, { now: d.clock.now(), uuid: d.ids.uuid(), startAfterMs: d.startGraceMs }));
  await d.rpc.cast(CONDUCTOR_TOPIC, ConductorMethod.LIVE_MIGRATE, { migrationId: row.id }, { version: CONDUCTOR_RPC_VERSION });
  return row;
}

/** Abort (Nova: DELETE /servers/{id}/migrations/{mid}) or force-complete, each valid only in some statuses. */
export async function requestMigrationAction(d: RequestDeps, instanceUuid: string, migrationId: number, action: 'abort' | 'force_complete'): Promise<void> {
  const m = await d.store.repo.getMigration(migrationId);
  if (!m || m.instanceUuid !== instanceUuid) {
    throw new BatonError('MigrationNotFound', `Migration ${migrationId} for instance ${instanceUuid} could not be found.`);
  }
  // Nova's rule: abort only before the guest has switched over. post-migrating, running (post-copy) and the terminal
  // statuses are refused, and so is any migration whose workflow already flipped the record.
  const allowed = action === 'abort' ? ['queued', 'preparing', 'running', 'accepted'] : ['running'];
  if (!allowed.includes(m.status) || (action === 'abort' && m.state.switchedOver)) {
    throw new BatonError('InvalidMigrationState', `Migration ${migrationId} state of instance ${instanceUuid} is ${m.status}. Cannot ${action === 'abort' ? 'abort' : 'force complete'} the migration in its current state.`);
  }
  const methodName = action === 'abort' ? ConductorMethod.ABORT : ConductorMethod.FORCE_COMPLETE;
  await d.rpc.cast(CONDUCTOR_TOPIC, methodName, { migrationId }, { version: CONDUCTOR_RPC_VERSION });
}

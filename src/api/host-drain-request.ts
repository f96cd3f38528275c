/**
 * Starting and cancelling a server-side drain, as the API does: each is one transaction on the drain's
 * row; a conductor's tick picks the drain up (it is due at once) and runs it. Starting disables the host
 * in the same transaction, so nothing new is scheduled to it.
 */
import { BatonError } from '../core/errors.js';
import { cancelDrain, DrainStatus, isDrainOver, newDrain } from '../core/drain.js';
import type { DrainRow } from '../store/store.js';
import type { RequestDeps } from './live-migration-request.js';

export interface DrainRequest {
  readonly host: string;
  /** Recorded as the host's disabled_reason. */
  readonly reason: string;
  readonly projectId: string;
  readonly userId: string;
}

/** Starts a drain of the host, or returns the one already running (`created` false). */
export async function requestDrain(d: RequestDeps, r: DrainRequest): Promise<{ row: DrainRow; created: boolean }> {
  return d.store.transaction(async (tx) => {
    if (!(await tx.getService(r.host))) throw new BatonError('ComputeHostNotFound', `Compute host ${r.host} could not be found.`, { host: r.host });
    const existing = await tx.getDrain(r.host, { lock: true });
    if (existing?.status === DrainStatus.RUNNING) return { row: existing, created: false };
    if (existing?.status === DrainStatus.CANCELLING) {
      throw new BatonError('InvalidDrainState', `The drain of ${r.host} is being cancelled; start a new one once it has stopped.`, { host: r.host });
    }
    const now = d.clock.now();
    const state = newDrain(r.host, r.reason, { projectId: r.projectId, userId: r.userId }, now);
    await tx.setServiceDisabled(r.host, true, r.reason);
    const row = await tx.putDrain({ host: r.host, status: state.status, state, nextWakeup: now, createdAt: now, updatedAt: now });
    return { row, created: true };
  });
}

/**
 * Cancels the host's drain: it starts nothing more, its migrations still waiting for a slot are aborted,
 * the ones already moving finish. The host stays disabled. Cancelling twice is harmless.
 */
export async function requestDrainCancel(d: RequestDeps, host: string): Promise<DrainRow> {
  return d.store.transaction(async (tx) => {
    const row = await tx.getDrain(host, { lock: true });
    if (!row) throw new BatonError('DrainNotFound', `No drain of host ${host} could be found.`, { host });
    if (row.status === DrainStatus.CANCELLING) return row;
    if (isDrainOver(row.status)) {
      throw new BatonError('InvalidDrainState', `The drain of ${host} already ended (${row.status}); there is nothing to cancel.`, { host });
    }
    const now = d.clock.now();
    const state = cancelDrain(row.state);
    await tx.saveDrain(host, row.version, { status: state.status, state, nextWakeup: now, updatedAt: now });
    return { ...row, status: state.status, state, nextWakeup: now, updatedAt: now, version: row.version + 1 };
  });
}

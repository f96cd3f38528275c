/** What each migration step does on this host, mapped onto the hypervisor driver. */
import { BatonError } from '../core/errors.js';
import type { Flavor } from '../core/model.js';
import type { Progress } from '../core/migration-state.js';
import { Step } from '../core/migration-steps.js';
import type { GuestSpec, HypervisorDriver } from './driver-port.js';
import type { PlainStepArgs, StepRequest } from './step-args.js';
import { EntryState } from './step-journal.js';

export function guestOf(instance: PlainStepArgs['instance']): GuestSpec {
  const f: Flavor = instance.flavor;
  return { uuid: instance.uuid, name: instance.name, vcpus: f.vcpus, memoryMb: f.memoryMb, diskGb: f.diskGb,
    imageRef: instance.imageRef ?? 'default' };
}

/** What a step may read or record beyond the driver: the journal's view of this migration. */
export interface StepContext {
  readonly host: string;
  readonly onProgress: (p: Progress) => void;
  /** The conductor asked to abort this migration (a durable marker). */
  readonly abortRequested: () => boolean;
  /** Records the abort marker durably; returns once it is on disk. */
  readonly recordAbort: () => void;
  /** Where this migration's live_migration stands on this host, from the journal (null: never received). */
  readonly copyState: () => EntryState | null;
}

/** The driver work behind a step. Results travel back to the conductor as plain JSON. */
export function stepWork(driver: HypervisorDriver, req: StepRequest, c: StepContext): () => Promise<Record<string, unknown>> {
  const guest = guestOf(req.args.instance);
  const migrationId = req.args.migrationId;
  switch (req.step) {
    case Step.CHECK_DEST: {
      const source = req.args.source;
      return () => driver.checkDestination(guest, source);
    }
    case Step.CHECK_SOURCE:
      return () => driver.checkSource(guest);
    case Step.PRE:
      return async () => ({ ...(await driver.prepareIncoming(guest, migrationId)) });
    case Step.MIGRATE: {
      const { dest, migrateData } = req.args;
      // The marker check and the driver call run in one synchronous stretch: an abort recorded after the
      // check finds the copy registered with the driver, and cancels it there.
      return async () => {
        if (c.abortRequested()) {
          throw new BatonError('MigrationCancelled', `live migration ${migrationId} of ${guest.uuid} was aborted before it started`,
            { uuid: guest.uuid, host: c.host, migrationId });
        }
        return { ...(await driver.migrate({ guest, migrationId, destHost: dest.host, incoming: migrateData }, c.onProgress)) };
      };
    }
    case Step.ABORT:
      return () => abort(driver, guest.uuid, migrationId, c);
    case Step.FORCE_COMPLETE:
      return async () => { await driver.forceComplete(guest.uuid); return {}; };
    case Step.POST_SOURCE:
      return async () => { await driver.cleanupSource(guest.uuid); return {}; };
    case Step.POST_DEST:
      return async () => { await driver.finishIncoming(guest.uuid); return {}; };
    case Step.ROLLBACK_SOURCE:
      return async () => { await driver.rollbackSource(guest.uuid); return {}; };
    case Step.ROLLBACK_DEST:
      return async () => { await driver.rollbackDestination(guest.uuid); return {}; };
  }
}

/**
 * live_migration_abort: the marker goes to disk first, so an abort that arrives before the copy starts is
 * not lost (the copy then refuses to start), and one that arrives during the copy cancels it in the driver.
 */
async function abort(driver: HypervisorDriver, uuid: string, migrationId: number, c: StepContext): Promise<Record<string, unknown>> {
  c.recordAbort();
  const copy = c.copyState();
  if (copy === EntryState.RUNNING) {
    await driver.abortMigration(uuid);
    return { copy: 'cancelling' };
  }
  if (copy === EntryState.DONE) {
    throw new BatonError('InvalidMigrationState', `live migration ${migrationId} of ${uuid} already completed on ${c.host}; it cannot be aborted`,
      { uuid, host: c.host, migrationId });
  }
  return { copy: copy === null ? 'not-started' : 'failed' };
}

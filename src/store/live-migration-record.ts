/**
 * What a live-migration request writes, inside the caller's transaction: Nova's synchronous checks
 * (instance state, known hosts, not to itself), the migration row in status `accepted` (waiting for a
 * concurrency slot) with its initial workflow, and the instance's task_state. The API records a request
 * this way, and so does a drain for each instance it moves.
 */
import { Admission } from '../core/admission.js';
import { BatonError } from '../core/errors.js';
import { describeHost } from '../core/model.js';
import { newWorkflow } from '../core/migration-workflow.js';
import { checkInstanceState, checkNotSelf } from '../core/prechecks.js';
import type { MigrationRow, Repo } from './store.js';

export interface LiveMigrationRequest {
  readonly instanceUuid: string;
  readonly host: string | null;
  readonly blockMigration: boolean | 'auto';
  readonly projectId: string;
  readonly userId: string;
}

export interface RecordContext {
  readonly now: number;
  readonly uuid: string;
  /** After this long without its start message, a conductor's timer starts the migration anyway. */
  readonly startAfterMs: number;
}

export async function recordLiveMigration(tx: Repo, req: LiveMigrationRequest, c: RecordContext): Promise<MigrationRow> {
  const inst = await tx.getInstance(req.instanceUuid);
  if (!inst) throw new BatonError('InstanceNotFound', `Instance ${req.instanceUuid} could not be found.`);
  checkInstanceState(inst);
  const source = await tx.getService(inst.host!);
  if (!source) throw new BatonError('ComputeHostNotFound', `Compute host ${inst.host} could not be found.`);
  if (req.host !== null) {
    if (!(await tx.getService(req.host))) throw new BatonError('ComputeHostNotFound', `Compute host ${req.host} could not be found.`);
    checkNotSelf(source.host, req.host, inst.uuid);
  }
  const flavor = await tx.getFlavor(inst.flavorId);
  if (!flavor) throw new BatonError('FlavorNotFound', `Flavor ${inst.flavorId} could not be found.`);
  const now = c.now;
  const created = await tx.insertMigration({
    uuid: c.uuid, instanceUuid: inst.uuid, sourceCompute: source.host, destCompute: req.host, status: 'accepted',
    migrationType: 'live-migration', flavorId: flavor.id, projectId: req.projectId, userId: req.userId, createdAt: now, updatedAt: now,
    nextWakeup: now + c.startAfterMs, admission: Admission.WAITING,
  }, (id) => newWorkflow({ migrationId: id, instance: { uuid: inst.uuid, name: inst.name, flavor, imageRef: inst.imageRef },
    source: describeHost(source), requestedHost: req.host, blockMigration: req.blockMigration, now }));
  await tx.updateInstance(inst.uuid, { taskState: 'migrating', updatedAt: now });
  return created;
}

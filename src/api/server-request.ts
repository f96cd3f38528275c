/** Creating and deleting servers, as the API does: the record first, then a cast to the conductor. */
import { BatonError } from '../core/errors.js';
import type { Instance } from '../core/model.js';
import { CONDUCTOR_RPC_VERSION, ConductorMethod } from '../rpc/conductor-api.js';
import { CONDUCTOR_TOPIC } from '../rpc/transport.js';
import type { RequestDeps } from './live-migration-request.js';

export interface CreateServerRequest {
  readonly name: string;
  readonly flavorRef: string;
  readonly imageRef: string;
  readonly host: string | null;
  readonly projectId: string;
  readonly userId: string;
}

export async function requestCreateServer(d: RequestDeps, req: CreateServerRequest): Promise<Instance> {
  const flavor = await d.store.repo.getFlavor(req.flavorRef);
  if (!flavor) throw new BatonError('FlavorNotFound', `Flavor ${req.flavorRef} could not be found.`);
  if (req.host !== null && !(await d.store.repo.getService(req.host))) {
    throw new BatonError('ComputeHostNotFound', `Compute host ${req.host} could not be found.`);
  }
  const now = d.clock.now();
  const inst: Instance = {
    uuid: d.ids.uuid(), name: req.name, host: null, vmState: 'building', taskState: 'spawning', powerState: 0, flavorId: flavor.id,
    imageRef: req.imageRef, projectId: req.projectId, userId: req.userId, createdAt: now, updatedAt: now,
  };
  await d.store.repo.insertInstance(inst);
  await d.rpc.cast(CONDUCTOR_TOPIC, ConductorMethod.BUILD_INSTANCE, { instanceUuid: inst.uuid, requestedHost: req.host }, { version: CONDUCTOR_RPC_VERSION });
  return inst;
}

export async function requestDeleteServer(d: RequestDeps, uuid: string): Promise<void> {
  const inst = await d.store.repo.getInstance(uuid);
  if (!inst) throw new BatonError('InstanceNotFound', `Instance ${uuid} could not be found.`);
  if (inst.taskState === 'migrating') {
    throw new BatonError('InstanceInvalidState', `Cannot delete instance ${uuid} while it is in task_state migrating.`);
  }
  await d.store.repo.updateInstance(uuid, { taskState: 'deleting', updatedAt: d.clock.now() });
  await d.rpc.cast(CONDUCTOR_TOPIC, ConductorMethod.DELETE_INSTANCE, { instanceUuid: uuid }, { version: CONDUCTOR_RPC_VERSION });
}

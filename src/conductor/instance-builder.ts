/** Places and boots new instances, and deletes them: the small non-migration duties of the conductor. */
import { BatonError, toErrorBody } from '../core/errors.js';
import { ZERO_USAGE } from '../core/model.js';
import type { Clock } from '../core/ports.js';
import { selectBootHost } from '../core/scheduler.js';
import { ComputeMethod } from '../rpc/compute-api.js';
import type { RpcClient } from '../rpc/rpc-client.js';
import { computeTopic } from '../rpc/transport.js';
import type { Store } from '../store/store.js';
import { ClaimConflict, lockCapacity } from './scheduling.js';

export interface BuilderDeps {
  readonly store: Store;
  readonly rpc: RpcClient;
  readonly clock: Clock;
  readonly serviceDownTimeMs: number;
  readonly callTimeoutMs: number;
  readonly versionFor: (host: string) => Promise<string>;
  readonly log: (msg: string) => void;
}

export async function buildInstance(d: BuilderDeps, uuid: string, requestedHost: string | null): Promise<void> {
  const placed = await placeInstance(d, uuid, requestedHost);
  if (!placed) return;
  const { inst, flavor, host } = placed;
  try {
    await d.rpc.call(computeTopic(host), ComputeMethod.SPAWN, {
      guest: { uuid, name: inst.name, vcpus: flavor.vcpus, memoryMb: flavor.memoryMb, diskGb: flavor.diskGb, imageRef: inst.imageRef },
    }, { version: await d.versionFor(host), timeoutMs: d.callTimeoutMs });
    await d.store.repo.updateInstance(uuid, { vmState: 'active', powerState: 1, taskState: null, updatedAt: d.clock.now() });
  } catch (e) {
    d.log(`spawning ${uuid} on ${host} failed: ${toErrorBody(e).message}`);
    await d.store.repo.updateInstance(uuid, { vmState: 'error', taskState: null, updatedAt: d.clock.now() });
  }
}

/** Chooses the host and records it, atomically with its capacity check; runs again when another placement or claim won the host. */
async function placeInstance(d: BuilderDeps, uuid: string, requestedHost: string | null) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await placeInTx(d, uuid, requestedHost);
    } catch (e) {
      if (!(e instanceof ClaimConflict) || attempt >= 10) throw e;
    }
  }
}

function placeInTx(d: BuilderDeps, uuid: string, requestedHost: string | null) {
  return d.store.transaction(async (tx) => {
    const inst = await tx.getInstance(uuid);
    if (!inst || inst.vmState !== 'building' || inst.host !== null) return null;
    const now = d.clock.now();
    const flavor = await tx.getFlavor(inst.flavorId);
    try {
      if (!flavor) throw new BatonError('FlavorNotFound', `Flavor ${inst.flavorId} could not be found.`);
      const usage = await tx.hostUsage();
      const candidates = (await tx.listServices()).map((host) => ({ host, usage: usage.get(host.host) ?? ZERO_USAGE }));
      const chosen = selectBootHost({ flavor, candidates, requestedHost, now, serviceDownTimeMs: d.serviceDownTimeMs });
      await lockCapacity(tx, chosen.host, flavor, uuid);
      await tx.updateInstance(uuid, { host: chosen.host.host, updatedAt: now });
      return { inst, flavor, host: chosen.host.host };
    } catch (e) {
      // A placement verdict ends the build; a lost race (ClaimConflict) or a database error aborts the transaction.
      if (!(e instanceof BatonError)) throw e;
      d.log(`cannot place instance ${uuid}: ${toErrorBody(e).message}`);
      await tx.updateInstance(uuid, { vmState: 'error', taskState: null, updatedAt: now });
      return null;
    }
  });
}

export async function deleteInstance(d: BuilderDeps, uuid: string): Promise<void> {
  const inst = await d.store.repo.getInstance(uuid);
  if (!inst) return;
  if (inst.host !== null) {
    try {
      await d.rpc.call(computeTopic(inst.host), ComputeMethod.DESTROY, { uuid }, { version: await d.versionFor(inst.host), timeoutMs: d.callTimeoutMs });
    } catch (e) {
      d.log(`destroying ${uuid} on ${inst.host} failed: ${toErrorBody(e).message}`);
      await d.store.repo.updateInstance(uuid, { vmState: 'error', taskState: null, updatedAt: d.clock.now() });
      return;
    }
  }
  await d.store.repo.deleteInstance(uuid);
}

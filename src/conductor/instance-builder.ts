/**
 * Places and boots new instances, and deletes them: the small non-migration duties of the conductor.
 * Both are finished by a rescan when a message or a conductor was lost half-way: spawn and destroy are
 * idempotent on the compute, so doing them again is safe.
 */
import { BatonError, toErrorBody } from '../core/errors.js';
import { ZERO_USAGE, type Flavor, type Instance } from '../core/model.js';
import type { Clock } from '../core/ports.js';
import { isServiceUp } from '../core/prechecks.js';
import { selectBootHost } from '../core/scheduler.js';
import { ComputeMethod } from '../rpc/compute-api.js';
import { isTimeout, type RpcClient } from '../rpc/rpc-client.js';
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
  /** Instances this conductor is building or deleting right now: a rescan leaves them alone. */
  readonly busy: Set<string>;
}

/** Runs `fn` for an instance unless this conductor is already working on it. */
async function exclusive(d: BuilderDeps, uuid: string, fn: () => Promise<void>): Promise<void> {
  if (d.busy.has(uuid)) return;
  d.busy.add(uuid);
  try {
    await fn();
  } finally {
    d.busy.delete(uuid);
  }
}

export async function buildInstance(d: BuilderDeps, uuid: string, requestedHost: string | null): Promise<void> {
  await exclusive(d, uuid, async () => {
    const placed = await placeInstance(d, uuid, requestedHost);
    if (placed) await spawnOn(d, placed.inst, placed.flavor, placed.host);
  });
}

async function spawnOn(d: BuilderDeps, inst: Instance, flavor: Flavor, host: string): Promise<void> {
  const uuid = inst.uuid;
  try {
    await d.rpc.call(computeTopic(host), ComputeMethod.SPAWN, {
      guest: { uuid, name: inst.name, vcpus: flavor.vcpus, memoryMb: flavor.memoryMb, diskGb: flavor.diskGb, imageRef: inst.imageRef },
    }, { version: await d.versionFor(host), timeoutMs: d.callTimeoutMs });
    await d.store.repo.updateInstance(uuid, { vmState: 'active', powerState: 1, taskState: null, updatedAt: d.clock.now() });
  } catch (e) {
    if (isTimeout(e)) {
      // No answer is not a failure: the request or its reply may have been lost while the guest boots. Spawn is
      // idempotent, so the instance stays building and the rescan asks the host again (up to the build deadline).
      d.log(`spawning ${uuid} on ${host}: no answer within ${d.callTimeoutMs} ms; the rescan will ask again`);
      await d.store.repo.updateInstance(uuid, { updatedAt: d.clock.now() });
      return;
    }
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
    // Placed already: a redelivered request. If its spawn was lost, the rescan finishes it.
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
  await exclusive(d, uuid, async () => {
    const inst = await d.store.repo.getInstance(uuid);
    if (!inst) return;
    if (inst.host !== null) {
      try {
        await d.rpc.call(computeTopic(inst.host), ComputeMethod.DESTROY, { uuid }, { version: await d.versionFor(inst.host), timeoutMs: d.callTimeoutMs });
      } catch (e) {
        // The record stays in task_state deleting (its clock restarted), so the rescan tries again later.
        d.log(`destroying ${uuid} on ${inst.host} failed: ${toErrorBody(e).message}; it will be retried`);
        await d.store.repo.updateInstance(uuid, { taskState: 'deleting', updatedAt: d.clock.now() });
        return;
      }
    }
    await d.store.repo.deleteInstance(uuid);
  });
}

/**
 * Finishes what a lost message or a dead conductor left half done: an instance placed on a host whose spawn never
 * completed is spawned again, one stuck in task_state deleting is deleted again. Only records untouched for longer
 * than `graceMs` are taken (the original request is given that long), each at most once per `graceMs` (the retry
 * restarts its clock), and never while their host's service is down (they resume once it reports again).
 * Resolves when every retry it started has finished.
 */
export async function rescanInstances(d: BuilderDeps, graceMs: number): Promise<void> {
  const now = d.clock.now();
  const up = new Set((await d.store.repo.listServices()).filter((h) => isServiceUp(h, now, d.serviceDownTimeMs)).map((h) => h.host));
  const work: Promise<void>[] = [];
  for (const inst of await d.store.repo.listInstances()) {
    if (now - inst.updatedAt <= graceMs || d.busy.has(inst.uuid) || (inst.host !== null && !up.has(inst.host))) continue;
    if (inst.taskState === 'deleting') {
      d.log(`instance ${inst.uuid} is still deleting after ${now - inst.updatedAt} ms; deleting it again`);
      work.push(deleteInstance(d, inst.uuid));
    } else if (inst.vmState === 'building' && inst.host !== null && now - inst.createdAt > buildDeadlineMs(d, graceMs)) {
      d.log(`instance ${inst.uuid} is still building on ${inst.host} after ${now - inst.createdAt} ms; giving up`);
      work.push(d.store.repo.updateInstance(inst.uuid, { vmState: 'error', taskState: null, updatedAt: now }));
    } else if (inst.vmState === 'building' && inst.host !== null) {
      d.log(`instance ${inst.uuid} was placed on ${inst.host} but never spawned; spawning it again`);
      work.push(respawn(d, inst, inst.host));
    }
  }
  await Promise.all(work);
}

/** How long a build may go unanswered before it ends in error: a few spawn attempts, each a call and a grace period. */
const SPAWN_ATTEMPTS = 5;
function buildDeadlineMs(d: BuilderDeps, graceMs: number): number {
  return SPAWN_ATTEMPTS * (d.callTimeoutMs + graceMs);
}

async function respawn(d: BuilderDeps, inst: Instance, host: string): Promise<void> {
  await exclusive(d, inst.uuid, async () => {
    const cur = await d.store.repo.getInstance(inst.uuid);
    if (cur?.vmState !== 'building' || cur.host !== host) return; // finished (or deleted) meanwhile
    await d.store.repo.updateInstance(inst.uuid, { updatedAt: d.clock.now() });
    const flavor = await d.store.repo.getFlavor(inst.flavorId);
    if (!flavor) {
      d.log(`cannot spawn ${inst.uuid}: flavor ${inst.flavorId} could not be found`);
      await d.store.repo.updateInstance(inst.uuid, { vmState: 'error', taskState: null, updatedAt: d.clock.now() });
      return;
    }
    await spawnOn(d, inst, flavor, host);
  });
}

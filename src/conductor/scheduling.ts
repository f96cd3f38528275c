/**
 * Destination choice and claim, done inside the workflow's transaction so two migrations never share
 * one capacity, even when several conductors schedule at once: the chosen host's service row is locked,
 * its usage read again, and the claim inserted before the lock is released at commit.
 */
import { BatonError, toErrorBody } from '../core/errors.js';
import { describeHost, ZERO_USAGE, type ComputeHost, type Flavor } from '../core/model.js';
import type { WorkflowEvent, WorkflowState } from '../core/migration-state.js';
import { checkCapacity } from '../core/prechecks.js';
import { selectDestination } from '../core/scheduler.js';
import type { Repo } from '../store/store.js';

/**
 * The chosen host's free capacity went to a claim (or a placement) committed since it was read. The
 * transaction rolls back and runs again on fresh usage, which may choose another host or none.
 */
export class ClaimConflict extends Error {
  constructor(readonly host: string) {
    super(`capacity on ${host} was taken concurrently`);
  }
}

export async function scheduleInTx(tx: Repo, s: WorkflowState, cmd: { requestedHost: string | null; excluded: readonly string[] },
  now: number, serviceDownTimeMs: number): Promise<WorkflowEvent> {
  try {
    // A named destination needs only itself and the source; otherwise every host is a candidate.
    const hosts = cmd.requestedHost === null ? await tx.listServices()
      : (await Promise.all([tx.getService(s.source.host), tx.getService(cmd.requestedHost)])).filter((h) => h !== undefined);
    const source = hosts.find((h) => h.host === s.source.host);
    if (!source) throw new BatonError('ComputeHostNotFound', `Compute host ${s.source.host} could not be found.`);
    const usage = await tx.hostUsage(cmd.requestedHost ?? undefined);
    const candidates = hosts.map((host) => ({ host, usage: usage.get(host.host) ?? ZERO_USAGE }));
    const chosen = selectDestination({
      instanceUuid: s.instance.uuid, flavor: s.instance.flavor, source, requestedHost: cmd.requestedHost, excluded: cmd.excluded,
      now, serviceDownTimeMs,
    }, candidates);
    const f = s.instance.flavor;
    await lockCapacity(tx, chosen.host, f, s.instance.uuid);
    await tx.insertClaim({ migrationId: s.migrationId, host: chosen.host.host, instanceUuid: s.instance.uuid,
      vcpus: f.vcpus, memoryMb: f.memoryMb, diskGb: f.diskGb }, now);
    return { type: 'scheduled', dest: describeHost(chosen.host) };
  } catch (e) {
    // Only a scheduling verdict fails the migration; a database error or a lost race aborts the transaction
    // and is retried by the caller.
    if (!(e instanceof BatonError)) throw e;
    return { type: 'schedule-failed', error: toErrorBody(e) };
  }
}

/**
 * Locks `host` until the transaction ends and checks, on usage read after the lock, that `flavor` still
 * fits; throws ClaimConflict otherwise. Every writer that adds usage to a host (a migration's claim, a new
 * instance's placement) goes through here, so the check and the write are one atomic step per host.
 * Only one host is ever locked per transaction, so two of them cannot deadlock on hosts.
 */
export async function lockCapacity(tx: Repo, host: ComputeHost, flavor: Flavor, instanceUuid: string): Promise<void> {
  if (!(await tx.lockService(host.host))) throw new ClaimConflict(host.host);
  const fresh = (await tx.hostUsage(host.host)).get(host.host) ?? ZERO_USAGE;
  try {
    checkCapacity(host, fresh, flavor, instanceUuid);
  } catch {
    throw new ClaimConflict(host.host);
  }
}

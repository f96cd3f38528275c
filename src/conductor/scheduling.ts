/** Destination choice and claim, done inside the workflow's transaction so two migrations never share one capacity. */
import { BatonError, toErrorBody } from '../core/errors.js';
import { describeHost, ZERO_USAGE } from '../core/model.js';
import type { WorkflowEvent, WorkflowState } from '../core/migration-state.js';
import { selectDestination } from '../core/scheduler.js';
import type { Repo } from '../store/store.js';

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
    await tx.insertClaim({ migrationId: s.migrationId, host: chosen.host.host, instanceUuid: s.instance.uuid,
      vcpus: f.vcpus, memoryMb: f.memoryMb, diskGb: f.diskGb }, now);
    return { type: 'scheduled', dest: describeHost(chosen.host) };
  } catch (e) {
    // Only a scheduling verdict fails the migration; a database error aborts the transaction and is retried by the caller.
    if (!(e instanceof BatonError)) throw e;
    return { type: 'schedule-failed', error: toErrorBody(e) };
  }
}

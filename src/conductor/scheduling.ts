/**
 * Admission, destination choice and claim, done inside the workflow's transaction so two migrations never
 * share one slot or one capacity, even when several conductors schedule at once: the chosen host's service
 * row is locked, its usage read again and the claim inserted; then the concurrency limits are decided under
 * the cluster-wide admission lock (see admission-queue.ts). Every lock is held until commit.
 */
import { inboundFull, inboundLimit, isLimited, waitReason, type MigrationLimits, type SlotCounts } from '../core/admission.js';
import { BatonError, toErrorBody } from '../core/errors.js';
import { describeHost, ZERO_USAGE, type ComputeHost, type Flavor } from '../core/model.js';
import type { WorkflowEvent, WorkflowState } from '../core/migration-state.js';
import { checkCapacity } from '../core/prechecks.js';
import { filterHosts, selectDestination, type Candidate, type ScheduleRequest } from '../core/scheduler.js';
import type { Repo } from '../store/store.js';
import { admitUnderLock, queueSnapshot } from './admission-queue.js';

/**
 * The chosen host's free capacity went to a claim (or a placement) committed since it was read. The
 * transaction rolls back and runs again on fresh usage, which may choose another host or none.
 */
export class ClaimConflict extends Error {
  constructor(readonly host: string) {
    super(`capacity on ${host} was taken concurrently`);
  }
}

export interface ScheduleConfig {
  readonly serviceDownTimeMs: number;
  readonly limits: MigrationLimits;
  /** How soon a migration that found the admission lock busy asks again. */
  readonly tickMs: number;
}

/**
 * Admits `s` and claims its destination. Over a limit it answers `must-wait` and holds nothing; the
 * slot counts are read once without the lock (most refusals end there) and again under it, last.
 */
export async function scheduleInTx(tx: Repo, s: WorkflowState, cmd: { requestedHost: string | null; excluded: readonly string[] },
  now: number, cfg: ScheduleConfig): Promise<WorkflowEvent> {
  const me = { id: s.migrationId, source: s.source.host, requestedHost: cmd.requestedHost };
  let counts: SlotCounts | null = null;
  if (isLimited(cfg.limits)) {
    const snap = await queueSnapshot(tx, s.migrationId);
    const wait = waitReason(me, snap, cfg.limits);
    if (wait !== null) return { type: 'must-wait', reason: wait, retryAt: null };
    counts = snap.counts;
  }
  let dest: ComputeHost;
  try {
    const chosen = await chooseAndClaim(tx, s, cmd, now, cfg, counts);
    if ('wait' in chosen) return { type: 'must-wait', reason: chosen.wait, retryAt: null };
    dest = chosen.host;
  } catch (e) {
    // Only a scheduling verdict fails the migration; a database error or a lost race aborts the transaction
    // and is retried by the caller.
    if (!(e instanceof BatonError)) throw e;
    return { type: 'schedule-failed', error: toErrorBody(e) };
  }
  if (counts !== null) {
    const refused = await admitUnderLock(tx, me, dest.host, cfg.limits, now, cfg.tickMs);
    if (refused) {
      await tx.deleteClaim(s.migrationId);
      return { type: 'must-wait', ...refused };
    }
  }
  return { type: 'scheduled', dest: describeHost(dest) };
}

async function chooseAndClaim(tx: Repo, s: WorkflowState, cmd: { requestedHost: string | null; excluded: readonly string[] },
  now: number, cfg: ScheduleConfig, counts: SlotCounts | null): Promise<Candidate | { wait: string }> {
  // A named destination needs only itself and the source; otherwise every host is a candidate.
  const hosts = cmd.requestedHost === null ? await tx.listServices()
    : (await Promise.all([tx.getService(s.source.host), tx.getService(cmd.requestedHost)])).filter((h) => h !== undefined);
  const source = hosts.find((h) => h.host === s.source.host);
  if (!source) throw new BatonError('ComputeHostNotFound', `Compute host ${s.source.host} could not be found.`);
  const usage = await tx.hostUsage(cmd.requestedHost ?? undefined);
  const candidates = hosts.map((host) => ({ host, usage: usage.get(host.host) ?? ZERO_USAGE }));
  const req: ScheduleRequest = {
    instanceUuid: s.instance.uuid, flavor: s.instance.flavor, source, requestedHost: cmd.requestedHost, excluded: cmd.excluded,
    now, serviceDownTimeMs: cfg.serviceDownTimeMs,
  };
  const chosen = counts === null ? selectDestination(req, candidates) : selectWithInboundRoom(req, candidates, counts, cfg.limits);
  if ('wait' in chosen) return chosen;
  const f = s.instance.flavor;
  await lockCapacity(tx, chosen.host, f, s.instance.uuid);
  await tx.insertClaim({ migrationId: s.migrationId, host: chosen.host.host, instanceUuid: s.instance.uuid,
    vcpus: f.vcpus, memoryMb: f.memoryMb, diskGb: f.diskGb }, now);
  return chosen;
}

/**
 * The scheduler's choice among hosts with an inbound slot free. When none passes but some host at its
 * inbound limit would, the migration waits for one of those slots; otherwise the full NoValidHost stands.
 */
function selectWithInboundRoom(req: ScheduleRequest, candidates: readonly Candidate[], counts: SlotCounts,
  limits: MigrationLimits): Candidate | { wait: string } {
  const full = candidates.filter((c) => inboundFull(limits, counts, c.host.host));
  try {
    return selectDestination(req, candidates.filter((c) => !full.includes(c)));
  } catch (e) {
    if (!(e instanceof BatonError) || e.code !== 'NoValidHost') throw e;
    const waitFor = filterHosts(req, full).passed.map((c) => `${c.host.host} (${counts.inbound.get(c.host.host) ?? 0} of ${inboundLimit(limits, c.host.host)})`);
    if (waitFor.length > 0) return { wait: `every destination that would take it is at its inbound limit: ${waitFor.join(', ')}` };
    return selectDestination(req, candidates);
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

/**
 * Destination selection: filters, then a weigher. Pure; the conductor hands it a snapshot of the
 * hosts and their usage taken inside the transaction that then records the claim.
 */
import { BatonError } from './errors.js';
import { capacityShortfall, checkDestination, checkSourceUp, isServiceUp } from './prechecks.js';
import type { ComputeHost, Flavor, HostUsage } from './model.js';
import { ZERO_USAGE } from './model.js';
import { compareVersions } from './version.js';

export interface ScheduleRequest {
  readonly instanceUuid: string;
  readonly flavor: Flavor;
  readonly source: ComputeHost;
  /** Host the operator asked for; when set, no other host is considered. */
  readonly requestedHost: string | null;
  /** Hosts that already failed for this migration. */
  readonly excluded: readonly string[];
  readonly now: number;
  readonly serviceDownTimeMs: number;
}

export interface Candidate {
  readonly host: ComputeHost;
  readonly usage: HostUsage;
}

export interface Rejection {
  readonly host: string;
  readonly reason: string;
}

/** A host passes when it is enabled, not excluded, not older than the source, and passes every destination check. */
export function filterHosts(req: ScheduleRequest, candidates: readonly Candidate[]): { passed: Candidate[]; rejected: Rejection[] } {
  const passed: Candidate[] = [];
  const rejected: Rejection[] = [];
  for (const c of candidates) {
    const reason = rejectReason(req, c);
    if (reason === null) passed.push(c);
    else rejected.push({ host: c.host.host, reason });
  }
  return { passed, rejected };
}

function rejectReason(req: ScheduleRequest, c: Candidate): string | null {
  if (c.host.host === req.source.host) return 'is the source';
  if (req.excluded.includes(c.host.host)) return 'already failed for this migration';
  if (c.host.disabled) return `disabled${c.host.disabledReason ? ` (${c.host.disabledReason})` : ''}`;
  if (compareVersions(c.host.rpcVersion, req.source.rpcVersion) < 0) return `service version ${c.host.rpcVersion} older than the source`;
  try {
    checkDestination({ source: req.source, dest: c.host, usage: c.usage, flavor: req.flavor,
      instanceUuid: req.instanceUuid, now: req.now, serviceDownTimeMs: req.serviceDownTimeMs });
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** RAM weigher (Nova's default spreads): more free RAM first, then more free vCPU, then name for determinism. */
export function weighHosts(candidates: readonly Candidate[]): Candidate[] {
  const free = (c: Candidate) => c.host.memoryMb * c.host.ratios.ram - c.usage.memoryMb;
  const freeCpu = (c: Candidate) => c.host.vcpus * c.host.ratios.cpu - c.usage.vcpus;
  return [...candidates].sort((a, b) => free(b) - free(a) || freeCpu(b) - freeCpu(a) || a.host.host.localeCompare(b.host.host));
}

/**
 * Picks the destination. A source whose service is down fails first (ComputeServiceUnavailable): no host
 * could take a guest it cannot send. A requested host gets the full checks and its own typed error;
 * otherwise the best host that passes the filters, or NoValidHost naming why each host was rejected.
 */
export function selectDestination(req: ScheduleRequest, candidates: readonly Candidate[]): Candidate {
  checkSourceUp(req.source, req.now, req.serviceDownTimeMs);
  if (req.requestedHost !== null) {
    const c = candidates.find((x) => x.host.host === req.requestedHost);
    if (!c) throw new BatonError('ComputeHostNotFound', `Compute host ${req.requestedHost} could not be found.`, { host: req.requestedHost });
    checkDestination({ source: req.source, dest: c.host, usage: c.usage, flavor: req.flavor,
      instanceUuid: req.instanceUuid, now: req.now, serviceDownTimeMs: req.serviceDownTimeMs });
    return c;
  }
  const { passed, rejected } = filterHosts(req, candidates);
  const best = weighHosts(passed)[0];
  if (!best) {
    const why = rejected.map((r) => `${r.host}: ${r.reason}`).join('; ');
    throw new BatonError('NoValidHost', `No valid host was found. ${why || 'There are no compute hosts.'}`, { rejected });
  }
  return best;
}

export function usageOf(map: ReadonlyMap<string, HostUsage>, host: string): HostUsage {
  return map.get(host) ?? ZERO_USAGE;
}

/** Placement of a new instance: an enabled, live host with room, best by the same weigher. */
export function selectBootHost(args: {
  flavor: Flavor; candidates: readonly Candidate[]; requestedHost: string | null; now: number; serviceDownTimeMs: number;
}): Candidate {
  const rejected: Rejection[] = [];
  const passed = args.candidates.filter((c) => {
    if (args.requestedHost !== null && c.host.host !== args.requestedHost) return false;
    const reason = c.host.disabled ? 'disabled'
      : !isServiceUp(c.host, args.now, args.serviceDownTimeMs) ? 'service down' : capacityProblem(c, args.flavor);
    if (reason) rejected.push({ host: c.host.host, reason });
    return reason === null;
  });
  const best = weighHosts(passed)[0];
  if (!best) {
    const why = rejected.map((r) => `${r.host}: ${r.reason}`).join('; ');
    throw new BatonError('NoValidHost', `No valid host was found. ${why || (args.requestedHost ? `Host ${args.requestedHost} is unknown.` : 'There are no compute hosts.')}`, { rejected });
  }
  return best;
}

/** Why a new instance does not fit on a host, worded as a build (nothing is migrating). */
function capacityProblem(c: Candidate, f: Flavor): string | null {
  const short = capacityShortfall(c.host, c.usage, f);
  return short.length === 0 ? null : `not enough ${short.join(', ')} for flavor ${f.name}`;
}

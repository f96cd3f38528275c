/**
 * Concurrency limits on live migrations and the queue in front of them. Pure: the conductor reads the
 * counts and the queue heads under a cluster-wide lock, in the transaction that then claims the
 * destination, and carries out the verdicts.
 *
 * What holds a slot: a migration holds one outbound slot on its source, one cluster slot and (once it
 * has a destination) one inbound slot there, from the transaction that admits it (leaves the queue and
 * claims a destination) until the one that ends it. A destination that fails its checks gives its
 * inbound slot back when the next one is claimed; a migration that then finds no destination with room
 * goes back to the queue and gives every slot back.
 */
import type { WorkflowState } from './migration-state.js';
import { isTerminal } from './migration-status.js';

/** A migration's place with respect to the limits, kept in its row so the counts are one query. */
export const Admission = { WAITING: 'waiting', ADMITTED: 'admitted' } as const;
export type Admission = (typeof Admission)[keyof typeof Admission];

export interface HostLimits {
  readonly outbound?: number;
  readonly inbound?: number;
}

/** Every limit counts migrations in progress; 0 means unlimited (as Nova's max_concurrent_live_migrations). */
export interface MigrationLimits {
  /** Migrations out of one host at once (Nova's max_concurrent_live_migrations, default 1). */
  readonly perHostOutbound: number;
  /** Migrations into one host at once. */
  readonly perHostInbound: number;
  /** Migrations in the whole deployment at once (KubeVirt's parallelMigrationsPerCluster, default 5). */
  readonly cluster: number;
  /** Overrides of the per-host limits, by host name. */
  readonly hosts: Readonly<Record<string, HostLimits>>;
}

export const DEFAULT_LIMITS: MigrationLimits = { perHostOutbound: 1, perHostInbound: 2, cluster: 5, hosts: {} };
export const NO_LIMITS: MigrationLimits = { perHostOutbound: 0, perHostInbound: 0, cluster: 0, hosts: {} };

export function outboundLimit(l: MigrationLimits, host: string): number {
  return l.hosts[host]?.outbound ?? l.perHostOutbound;
}

export function inboundLimit(l: MigrationLimits, host: string): number {
  return l.hosts[host]?.inbound ?? l.perHostInbound;
}

/** False when no limit applies anywhere: then nothing ever waits and the conductor skips the bookkeeping. */
export function isLimited(l: MigrationLimits): boolean {
  return l.cluster > 0 || l.perHostOutbound > 0 || l.perHostInbound > 0
    || Object.values(l.hosts).some((h) => (h.outbound ?? 0) > 0 || (h.inbound ?? 0) > 0);
}

/** Where a workflow stands: terminal holds nothing, a new or queued one waits, any other holds its slots. */
export function admissionOf(s: WorkflowState): Admission | null {
  if (isTerminal(s.status)) return null;
  return s.phase === 'new' || s.phase === 'queued' ? Admission.WAITING : Admission.ADMITTED;
}

/** Migrations holding a slot (the one being decided left out). */
export interface SlotCounts {
  readonly cluster: number;
  readonly outbound: ReadonlyMap<string, number>;
  readonly inbound: ReadonlyMap<string, number>;
}

/** A waiting migration as the queue sees it; `requestedHost` is the destination the operator named. */
export interface Queued {
  readonly id: number;
  readonly source: string;
  readonly requestedHost: string | null;
}

export interface QueueSnapshot {
  readonly counts: SlotCounts;
  /** The oldest waiting migration of each source host, oldest first. */
  readonly heads: readonly Queued[];
  /** The oldest waiting migration toward each named destination, by host. */
  readonly destHeads: ReadonlyMap<string, number>;
}

const count = (m: ReadonlyMap<string, number>, host: string) => m.get(host) ?? 0;
const full = (n: number, limit: number) => limit > 0 && n >= limit;

/** True when `host` has no inbound slot left. */
export function inboundFull(l: MigrationLimits, c: SlotCounts, host: string): boolean {
  return full(count(c.inbound, host), inboundLimit(l, host));
}

/**
 * Why `m` must wait, or null when it may take a slot now. First come, first served per host: an older
 * waiting migration out of the same source, or toward the same named destination, goes first; and a
 * free cluster slot goes to the oldest migration that fits, whatever its host. The inbound slot of a
 * destination the scheduler picks is judged while it picks (see inboundFull).
 */
export function waitReason(m: Queued, snap: QueueSnapshot, l: MigrationLimits): string | null {
  const ahead = snap.heads.find((h) => h.source === m.source);
  if (ahead && ahead.id < m.id) return `behind migration ${ahead.id} in the queue of ${m.source}`;
  const destAhead = m.requestedHost === null ? undefined : snap.destHeads.get(m.requestedHost);
  if (destAhead !== undefined && destAhead < m.id) return `behind migration ${destAhead} in the queue for ${m.requestedHost}`;
  const own = hostReason(m, snap.counts, l);
  if (own !== null) return own;
  const c = snap.counts;
  if (full(c.cluster, l.cluster)) return `cluster limit reached (${c.cluster} of ${l.cluster} migrations in progress)`;
  if (l.cluster > 0) {
    // The slots left go to older heads that fit, before this one.
    const older = snap.heads.filter((h) => h.id < m.id && h.source !== m.source && isFront(h, snap) && hostReason(h, c, l) === null);
    if (c.cluster + older.length >= l.cluster) return `behind migration ${older[0]!.id} for a cluster slot`;
  }
  return null;
}

/** The host limits alone: the source's outbound slots, and a named destination's inbound ones. */
function hostReason(m: Queued, c: SlotCounts, l: MigrationLimits): string | null {
  const out = count(c.outbound, m.source);
  if (full(out, outboundLimit(l, m.source))) return `outbound limit of ${m.source} reached (${out} of ${outboundLimit(l, m.source)})`;
  if (m.requestedHost !== null && inboundFull(l, c, m.requestedHost)) {
    return `inbound limit of ${m.requestedHost} reached (${count(c.inbound, m.requestedHost)} of ${inboundLimit(l, m.requestedHost)})`;
  }
  return null;
}

/** A head that is also first in its named destination's queue. */
function isFront(h: Queued, snap: QueueSnapshot): boolean {
  const d = h.requestedHost === null ? undefined : snap.destHeads.get(h.requestedHost);
  return d === undefined || d >= h.id;
}

/**
 * The queue heads to wake after slots were freed: oldest first, each one that would be admitted now,
 * counting the slots the earlier ones will take. Only heads can go (first come, first served), so
 * nothing behind them is woken, and nobody is woken for a slot already promised to an older one.
 */
export function headsToWake(snap: QueueSnapshot, l: MigrationLimits): number[] {
  const outbound = new Map(snap.counts.outbound);
  const inbound = new Map(snap.counts.inbound);
  let cluster = snap.counts.cluster;
  let heads = [...snap.heads].sort((a, b) => a.id - b.id);
  const woken: number[] = [];
  for (const h of [...heads]) {
    const now: QueueSnapshot = { counts: { cluster, outbound, inbound }, heads, destHeads: snap.destHeads };
    if (waitReason(h, now, l) !== null) continue;
    woken.push(h.id);
    // Counted as holding its slots from here on, and no longer waiting.
    heads = heads.filter((x) => x !== h);
    cluster += 1;
    outbound.set(h.source, count(outbound, h.source) + 1);
    if (h.requestedHost !== null) inbound.set(h.requestedHost, count(inbound, h.requestedHost) + 1);
  }
  return woken;
}

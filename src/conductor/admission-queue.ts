/**
 * The concurrency limits in the store: the verdict on a migration asking for a slot, and the wake-up of
 * the queue when slots free.
 *
 * Locking: whoever takes a slot holds the cluster-wide admission lock while it counts (tried without
 * waiting, and taken last, after the destination's host lock, so it is never held while waiting on
 * another lock). Whoever frees a slot does not need that lock: it reads the queue as it stands with its
 * own change, and marks due the heads that can go, skipping rows another transaction holds. A head
 * refused, in that other transaction, on counts read just before the slot freed is the one wake-up that
 * can be missed; each conductor also wakes the queue heads every few ticks (wakeQueueNow), which bounds
 * that delay.
 */
import { headsToWake, inboundFull, isLimited, waitReason, type MigrationLimits, type Queued, type QueueSnapshot } from '../core/admission.js';
import type { Repo, Store } from '../store/store.js';

/** The queue heads and the slot counts (leaving out `exclude`), as this transaction sees them. */
export async function queueSnapshot(tx: Repo, exclude?: number): Promise<QueueSnapshot> {
  const heads = await tx.queueHeads();
  return { ...heads, counts: await tx.slotCounts(exclude) };
}

export interface Refusal {
  readonly reason: string;
  /** Set when the decision could not be taken now: ask again then. */
  readonly retryAt: number | null;
}

/** The destination's inbound slot went to someone else since the first look: schedule again on fresh counts. */
export class InboundTaken extends Error {
  constructor(readonly host: string) {
    super(`the last inbound slot of ${host} was taken concurrently`);
  }
}

/**
 * The decision, under the admission lock, for migration `me` about to take a slot with destination `dest`
 * (already claimed in this transaction): null to go ahead, or why it waits. Throws InboundTaken when only
 * the destination's inbound slot is gone (another destination may do).
 */
export async function admitUnderLock(tx: Repo, me: Queued, dest: string, limits: MigrationLimits, now: number,
  retryMs: number): Promise<Refusal | null> {
  if (!(await tx.tryLockAdmission())) {
    return { reason: 'another conductor is admitting a migration; asking again shortly', retryAt: now + retryMs };
  }
  const snap = await queueSnapshot(tx, me.id);
  const wait = waitReason(me, snap, limits);
  if (wait !== null) return { reason: wait, retryAt: null };
  // A named destination's inbound slot is part of waitReason; a chosen one may be replaced by another.
  if (me.requestedHost === null && inboundFull(limits, snap.counts, dest)) throw new InboundTaken(dest);
  return null;
}

/**
 * Marks due the queue heads that can go now, and returns them (the caller may tick them at once rather
 * than leave them to the next tick). Run in every transaction that frees a slot, takes one (a successor
 * may fit too) or removes a waiting migration (its successor becomes a head).
 */
export async function wakeQueue(tx: Repo, now: number, limits: MigrationLimits): Promise<number[]> {
  const heads = await tx.queueHeads();
  // No queue (the usual case below the limits): nobody to wake, and no need to count.
  if (heads.heads.length === 0) return [];
  return tx.wakeMigrations(headsToWake({ ...heads, counts: await tx.slotCounts() }, limits), now);
}

/** The same in its own transaction: each conductor's periodic look, which bounds the delay of a missed wake-up. */
export async function wakeQueueNow(store: Store, now: number, limits: MigrationLimits): Promise<number[]> {
  if (!isLimited(limits)) return [];
  return store.transaction((tx) => wakeQueue(tx, now, limits));
}

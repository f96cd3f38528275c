/**
 * A server-side host drain, as a pure pass: (drain, facts read from the store) -> {drain, commands}.
 * The drain lives in the store; any conductor runs a pass when it is due, so a restart or a takeover
 * continues it. It live-migrates every instance off the host (the scheduler picks destinations and the
 * concurrency limits queue the migrations), retries an instance whose migration failed up to a bound,
 * and ends `drained`, or `blocked` naming every instance it could not move and why.
 */
import { Admission } from './admission.js';
import type { Instance } from './model.js';
import { isTerminal, type MigrationStatus } from './migration-status.js';

export const DrainStatus = {
  RUNNING: 'running',
  /** Cancel requested: the drain's migrations still queued are being aborted. */
  CANCELLING: 'cancelling',
  DRAINED: 'drained',
  BLOCKED: 'blocked',
  CANCELLED: 'cancelled',
} as const;
export type DrainStatus = (typeof DrainStatus)[keyof typeof DrainStatus];

export const DRAIN_ENDS: readonly DrainStatus[] = [DrainStatus.DRAINED, DrainStatus.BLOCKED, DrainStatus.CANCELLED];

export function isDrainOver(s: DrainStatus): boolean {
  return DRAIN_ENDS.includes(s);
}

export const ItemStatus = {
  PENDING: 'pending',
  MIGRATING: 'migrating',
  MOVED: 'moved',
  BLOCKED: 'blocked',
  /** Deleted while the drain ran. */
  GONE: 'gone',
} as const;
export type ItemStatus = (typeof ItemStatus)[keyof typeof ItemStatus];

export interface DrainItem {
  readonly instanceUuid: string;
  readonly name: string;
  readonly status: ItemStatus;
  /** The migration moving it now, or the last one. */
  readonly migrationId: number | null;
  /** Migrations this drain started for it. */
  readonly attempts: number;
  /** Why it is blocked, or how the last attempt ended. */
  readonly reason: string | null;
  readonly movedTo: string | null;
}

export interface DrainState {
  readonly host: string;
  readonly status: DrainStatus;
  /** Recorded as the host's disabled_reason. */
  readonly reason: string;
  /** Who asked: the migrations it starts are recorded as theirs. */
  readonly projectId: string;
  readonly userId: string;
  readonly items: readonly DrainItem[];
  readonly startedAt: number;
  readonly finishedAt: number | null;
  /** The conductor that ran the latest pass, and how many passes ran. */
  readonly drivenBy: string | null;
  readonly passes: number;
}

export interface DrainConfig {
  /** Migrations started per instance before it counts as blocked. */
  readonly attempts: number;
  /** A running drain is looked at again after this long even if nothing woke it. */
  readonly pollMs: number;
}

export const DEFAULT_DRAIN_CONFIG: DrainConfig = { attempts: 2, pollMs: 2_000 };

/** The part of a migration a pass reads. */
export interface DrainMigration {
  readonly id: number;
  readonly status: MigrationStatus;
  readonly error: string | null;
  readonly admission: Admission | null;
  readonly destCompute: string | null;
}

/** What a pass sees, read in its transaction. */
export interface DrainFacts {
  readonly now: number;
  readonly conductor: string;
  /** Instances whose record names the host now. */
  readonly onHost: readonly Instance[];
  /** The drain's instances by uuid; a missing one was deleted. */
  readonly instances: ReadonlyMap<string, Instance>;
  /** The items' migrations and the instances' active ones, by id. */
  readonly migrations: ReadonlyMap<number, DrainMigration>;
  /** The active migration of each instance, whoever started it. */
  readonly active: ReadonlyMap<string, number>;
}

export type DrainCommand =
  | { readonly type: 'migrate'; readonly instanceUuid: string }
  | { readonly type: 'abort'; readonly migrationId: number };

export function newDrain(host: string, reason: string, by: { projectId: string; userId: string }, now: number): DrainState {
  return { host, status: DrainStatus.RUNNING, reason, projectId: by.projectId, userId: by.userId, items: [], startedAt: now,
    finishedAt: null, drivenBy: null, passes: 0 };
}

/** Items whose outcome is settled: a moved or deleted instance is done with, a blocked one is not tried again. */
export function isItemSettled(it: DrainItem): boolean {
  return it.status === ItemStatus.MOVED || it.status === ItemStatus.GONE || it.status === ItemStatus.BLOCKED;
}

export function drainPass(s: DrainState, f: DrainFacts, cfg: DrainConfig): { state: DrainState; commands: DrainCommand[] } {
  if (isDrainOver(s.status)) return { state: s, commands: [] };
  const items = withNewArrivals(s.items, f.onHost).map((it) => settle(it, s.host, f, cfg));
  const base: DrainState = { ...s, items, drivenBy: f.conductor, passes: s.passes + 1 };
  if (s.status === DrainStatus.CANCELLING) return cancelPass(base, f);
  const commands: DrainCommand[] = [];
  const next = items.map((it) => {
    if (it.status !== ItemStatus.PENDING) return it;
    const inst = f.instances.get(it.instanceUuid)!;
    const blocked = unmovable(inst);
    if (blocked) return { ...it, status: ItemStatus.BLOCKED, reason: blocked };
    if (inst.vmState === 'active' || inst.vmState === 'paused') {
      if (inst.taskState === null) commands.push({ type: 'migrate', instanceUuid: it.instanceUuid });
    }
    return it;
  });
  const busy = next.some((it) => it.status === ItemStatus.PENDING || it.status === ItemStatus.MIGRATING);
  if (busy || commands.length > 0) return { state: { ...base, items: next }, commands };
  const ending = next.some((it) => it.status === ItemStatus.BLOCKED) ? DrainStatus.BLOCKED : DrainStatus.DRAINED;
  return { state: { ...base, items: next, status: ending, finishedAt: f.now }, commands };
}

/** The drain started migration `migrationId` for the instance. */
export function migrationStarted(s: DrainState, uuid: string, migrationId: number): DrainState {
  return patchItem(s, uuid, (it) => ({ ...it, status: ItemStatus.MIGRATING, migrationId, attempts: it.attempts + 1 }));
}

/** The request for a migration was refused (the instance's state): counts as an attempt. */
export function migrationRefused(s: DrainState, uuid: string, reason: string, cfg: DrainConfig): DrainState {
  return patchItem(s, uuid, (it) => {
    const attempts = it.attempts + 1;
    return { ...it, attempts, reason, status: attempts >= cfg.attempts ? ItemStatus.BLOCKED : ItemStatus.PENDING };
  });
}

/** When the drain needs its next pass: soon while it runs (its migrations' ends also wake it), never once over. */
export function drainWakeup(s: DrainState, now: number, cfg: DrainConfig): number | null {
  return isDrainOver(s.status) ? null : now + cfg.pollMs;
}

export function cancelDrain(s: DrainState): DrainState {
  return isDrainOver(s.status) ? s : { ...s, status: DrainStatus.CANCELLING };
}

function patchItem(s: DrainState, uuid: string, fn: (it: DrainItem) => DrainItem): DrainState {
  return { ...s, items: s.items.map((it) => (it.instanceUuid === uuid ? fn(it) : it)) };
}

/**
 * Instances on the host the drain has not seen yet join it (booted or migrated in before the host was
 * disabled), and a moved one that came back is drained again.
 */
function withNewArrivals(items: readonly DrainItem[], onHost: readonly Instance[]): DrainItem[] {
  const here = new Set(onHost.map((i) => i.uuid));
  const back = items.map((it) => (here.has(it.instanceUuid) && it.status === ItemStatus.MOVED ? { ...it, status: ItemStatus.PENDING } : it));
  const known = new Set(items.map((it) => it.instanceUuid));
  const fresh = onHost.filter((i) => !known.has(i.uuid)).map((i): DrainItem => ({ instanceUuid: i.uuid, name: i.name,
    status: ItemStatus.PENDING, migrationId: null, attempts: 0, reason: null, movedTo: null }));
  return [...back, ...fresh];
}

/** An item brought up to date with the facts: its migration's outcome, or where its instance now is. */
function settle(it: DrainItem, host: string, f: DrainFacts, cfg: DrainConfig): DrainItem {
  if (isItemSettled(it)) return it;
  const inst = f.instances.get(it.instanceUuid);
  if (!inst) return { ...it, status: ItemStatus.GONE };
  const active = f.active.get(it.instanceUuid);
  if (active !== undefined) return { ...it, status: ItemStatus.MIGRATING, migrationId: active };
  if (inst.host !== host) return { ...it, status: ItemStatus.MOVED, movedTo: inst.host };
  if (it.status !== ItemStatus.MIGRATING || it.migrationId === null) return it;
  const m = f.migrations.get(it.migrationId);
  if (m && !isTerminal(m.status)) return it;
  const reason = m?.error ?? `migration ${it.migrationId} ended ${m?.status ?? 'without a record'}`;
  return { ...it, reason, status: it.attempts >= cfg.attempts ? ItemStatus.BLOCKED : ItemStatus.PENDING };
}

function unmovable(inst: Instance): string | null {
  if (inst.vmState === 'error') return `instance is in vm_state error; live migration needs active or paused`;
  if (inst.vmState === 'deleted') return 'instance is deleted';
  return null;
}

/** Cancelling: migrations of the drain still waiting for a slot are aborted; ones already moving finish. */
function cancelPass(s: DrainState, f: DrainFacts): { state: DrainState; commands: DrainCommand[] } {
  const waiting = s.items.filter((it) => it.status === ItemStatus.MIGRATING && it.migrationId !== null
    && f.migrations.get(it.migrationId)?.admission === Admission.WAITING);
  if (waiting.length > 0) return { state: s, commands: waiting.map((it) => ({ type: 'abort', migrationId: it.migrationId! })) };
  return { state: { ...s, status: DrainStatus.CANCELLED, finishedAt: f.now }, commands: [] };
}

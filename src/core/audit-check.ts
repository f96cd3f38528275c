/**
 * The audit's comparison: what the hypervisors list against what the store records. Pure: the
 * reconciler gathers the snapshot and carries out the actions. Facts beat memory, but a snapshot taken
 * host after host is not atomic, so the reconciler takes a second one and keeps only findings present
 * in both (`confirmedFindings`). Two running copies are reported, never repaired.
 */
import { AnomalyKind, Severity, type AuditAnomaly } from './audit-report.js';
import type { Claim, Instance } from './model.js';

/** A guest as a hypervisor lists it; `state` takes the driver port's GuestState values. */
export interface ObservedGuest {
  readonly uuid: string;
  readonly state: string;
}

/** Copies in these states execute guest code: a migrating source still runs until switch-over. */
const LIVE_STATES: ReadonlySet<string> = new Set(['running', 'migrating']);
const RUNNING = 'running';

/** The part of a non-terminal migration the audit reads. */
export interface AuditMigration {
  readonly id: number;
  readonly instanceUuid: string;
  readonly source: string;
  readonly dest: string | null;
  readonly switchedOver: boolean;
  readonly nextWakeup: number | null;
  readonly updatedAt: number;
  /** Waiting in the queue for a concurrency slot: a record that does not change for long is normal there. */
  readonly waiting?: boolean;
}

export interface AuditSnapshot {
  readonly now: number;
  /** The guests of every host that answered, by host. */
  readonly guests: ReadonlyMap<string, readonly ObservedGuest[]>;
  readonly instances: readonly Instance[];
  /** Every migration not in a terminal status. */
  readonly activeMigrations: readonly AuditMigration[];
  /** Instances a migration touched while the snapshot was taken: their copies may have moved between two listings. */
  readonly inMotion: ReadonlySet<string>;
  readonly claims: readonly Claim[];
}

export interface AuditBounds {
  /** A live migration whose wake-up time passed longer ago than this has nobody driving it. */
  readonly overdueWakeupMs: number;
  /** A live migration whose record has not changed for this long is reported. */
  readonly staleMigrationMs: number;
}

export type AuditAction =
  | { readonly kind: 'destroy-stray'; readonly instanceUuid: string; readonly host: string; readonly state: string; readonly runsOn: string }
  | { readonly kind: 'fix-host'; readonly instanceUuid: string; readonly from: string | null; readonly to: string }
  | { readonly kind: 'switched-over'; readonly migrationId: number; readonly instanceUuid: string; readonly host: string; readonly evidence: string }
  | { readonly kind: 'delete-claim'; readonly migrationId: number; readonly host: string; readonly instanceUuid: string; readonly reason: string };

export interface AuditFindings {
  readonly anomalies: readonly AuditAnomaly[];
  readonly actions: readonly AuditAction[];
}

interface Copy {
  readonly host: string;
  readonly state: string;
}

interface Sink {
  readonly anomalies: AuditAnomaly[];
  readonly actions: AuditAction[];
}

/** Compares one snapshot; deterministic order (instances, unknown guests, claims, migrations). */
export function auditFindings(s: AuditSnapshot, b: AuditBounds): AuditFindings {
  const out: Sink = { anomalies: [], actions: [] };
  const copies = copiesByUuid(s.guests);
  const active = new Map(s.activeMigrations.map((m) => [m.instanceUuid, m]));
  for (const inst of s.instances) checkInstance(inst, copies.get(inst.uuid) ?? [], s, active.get(inst.uuid), out);
  checkUnknownGuests(s, out);
  checkClaims(s, out);
  checkMigrations(s, b, out);
  return out;
}

function copiesByUuid(guests: ReadonlyMap<string, readonly ObservedGuest[]>): Map<string, Copy[]> {
  const by = new Map<string, Copy[]>();
  for (const [host, list] of [...guests.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    for (const g of list) by.set(g.uuid, [...(by.get(g.uuid) ?? []), { host, state: g.state }]);
  }
  return by;
}

function anomaly(kind: AuditAnomaly['kind'], severity: AuditAnomaly['severity'], instanceUuid: string | null, migrationId: number | null,
  hosts: readonly string[], message: string): AuditAnomaly {
  return { kind, severity, instanceUuid, migrationId, hosts: [...new Set(hosts)].sort(), message };
}

function listCopies(copies: readonly Copy[]): string {
  return copies.map((c) => `${c.host} (${c.state})`).join(', ');
}

function checkInstance(inst: Instance, copies: readonly Copy[], s: AuditSnapshot, m: AuditMigration | undefined, out: Sink): void {
  const moving = m !== undefined || s.inMotion.has(inst.uuid);
  // Mid-migration a migrating source beside a running destination is the switch-over itself; two running copies never are.
  const running = copies.filter((c) => (moving ? c.state === RUNNING : LIVE_STATES.has(c.state)));
  if (running.length >= 2) {
    out.anomalies.push(anomaly(AnomalyKind.TWO_RUNNING, Severity.CRITICAL, inst.uuid, m?.id ?? null, running.map((c) => c.host),
      `instance ${inst.uuid} (${inst.name}) runs on ${running.length} hosts: ${listCopies(copies)}; the record names ${inst.host ?? 'no host'}. ` +
      'Not repaired automatically: keep one copy by hand.'));
    return;
  }
  if (m) {
    checkSwitchOver(inst, copies, m, out);
    return;
  }
  if (moving || inst.host === null || inst.vmState === 'building' || inst.taskState === 'spawning' || inst.taskState === 'deleting') return;
  const live = copies.find((c) => LIVE_STATES.has(c.state));
  if (live) checkRunningCopy(inst, inst.host, live, copies, s, out);
  else checkNoRunningCopy(inst, inst.host, copies, s, out);
}

/** The destination runs the guest while the workflow still waits: the workflow hears the fact. */
function checkSwitchOver(inst: Instance, copies: readonly Copy[], m: AuditMigration, out: Sink): void {
  if (m.switchedOver || m.dest === null) return;
  const atDest = copies.find((c) => c.host === m.dest);
  if (atDest?.state !== RUNNING) return;
  const atSource = copies.find((c) => c.host === m.source);
  // A source still migrating is post-copy or the switch-over instant: the workflow hears that from the source itself.
  if (atSource && LIVE_STATES.has(atSource.state)) return;
  out.actions.push({ kind: 'switched-over', migrationId: m.id, instanceUuid: inst.uuid, host: m.dest,
    evidence: `${m.dest} lists the guest running${atSource ? `; ${m.source} lists it ${atSource.state}` : ''}` });
}

function checkRunningCopy(inst: Instance, recorded: string, live: Copy, copies: readonly Copy[], s: AuditSnapshot, out: Sink): void {
  if (live.host !== recorded) {
    if (!s.guests.has(recorded)) {
      out.anomalies.push(anomaly(AnomalyKind.UNVERIFIED, Severity.WARNING, inst.uuid, null, [recorded, live.host],
        `instance ${inst.uuid} (${inst.name}) runs on ${live.host}, but its record names ${recorded}, which did not answer`));
      return;
    }
    out.actions.push({ kind: 'fix-host', instanceUuid: inst.uuid, from: recorded, to: live.host });
  }
  for (const c of copies) {
    if (c.host !== live.host) out.actions.push({ kind: 'destroy-stray', instanceUuid: inst.uuid, host: c.host, state: c.state, runsOn: live.host });
  }
}

function checkNoRunningCopy(inst: Instance, recorded: string, copies: readonly Copy[], s: AuditSnapshot, out: Sink): void {
  if (!s.guests.has(recorded)) return; // unknown, not missing
  const here = copies.find((c) => c.host === recorded);
  const stopped = copies.length > 0 ? ` Stopped copies: ${listCopies(copies)}.` : '';
  const hosts = [recorded, ...copies.map((c) => c.host)];
  if (!here) {
    if (inst.vmState === 'error') return;
    out.anomalies.push(anomaly(AnomalyKind.GUEST_MISSING, Severity.CRITICAL, inst.uuid, null, hosts,
      `instance ${inst.uuid} (${inst.name}) is recorded on ${recorded}, which does not have it, and no host runs it.${stopped}`));
    return;
  }
  // A paused instance paused on its host is as it should be; anything else stopped is not.
  const pausedOnly = here.state === 'paused' && copies.length === 1;
  if (pausedOnly && inst.vmState !== 'active') return;
  out.anomalies.push(anomaly(AnomalyKind.GUEST_NOT_RUNNING, pausedOnly ? Severity.WARNING : Severity.CRITICAL, inst.uuid, null, hosts,
    `instance ${inst.uuid} (${inst.name}) is ${inst.vmState} on ${recorded}, but no host runs it.${stopped}`));
}

function checkUnknownGuests(s: AuditSnapshot, out: Sink): void {
  const known = new Set(s.instances.map((i) => i.uuid));
  for (const [host, list] of [...s.guests.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    for (const g of list) {
      if (known.has(g.uuid)) continue;
      out.anomalies.push(anomaly(AnomalyKind.UNKNOWN_GUEST, Severity.WARNING, g.uuid, null, [host],
        `${host} has a guest ${g.uuid} (${g.state}) that no instance record names`));
    }
  }
}

function checkClaims(s: AuditSnapshot, out: Sink): void {
  const live = new Set(s.activeMigrations.map((m) => m.id));
  const instances = new Set(s.instances.map((i) => i.uuid));
  for (const c of s.claims) {
    const reason = !live.has(c.migrationId) ? `migration ${c.migrationId} is over or gone`
      : !instances.has(c.instanceUuid) ? `instance ${c.instanceUuid} is gone` : null;
    if (reason) out.actions.push({ kind: 'delete-claim', migrationId: c.migrationId, host: c.host, instanceUuid: c.instanceUuid, reason });
  }
}

function checkMigrations(s: AuditSnapshot, b: AuditBounds, out: Sink): void {
  for (const m of s.activeMigrations) {
    const hosts = m.dest ? [m.source, m.dest] : [m.source];
    if (m.nextWakeup !== null && s.now - m.nextWakeup > b.overdueWakeupMs) {
      out.anomalies.push(anomaly(AnomalyKind.MIGRATION_OVERDUE, Severity.CRITICAL, m.instanceUuid, m.id, hosts,
        `migration ${m.id} should have been examined ${Math.round((s.now - m.nextWakeup) / 1000)} s ago: no conductor is driving it`));
    } else if (!m.waiting && s.now - m.updatedAt > b.staleMigrationMs) {
      out.anomalies.push(anomaly(AnomalyKind.MIGRATION_STALE, Severity.WARNING, m.instanceUuid, m.id, hosts,
        `migration ${m.id} has not changed for ${Math.round((s.now - m.updatedAt) / 1000)} s`));
    }
  }
}

function keyOf(f: AuditAnomaly | AuditAction): string {
  if ('severity' in f) return `anomaly|${f.kind}|${f.instanceUuid ?? ''}|${f.migrationId ?? ''}|${f.hosts.join(',')}`;
  switch (f.kind) {
    case 'destroy-stray': return `destroy|${f.instanceUuid}|${f.host}|${f.runsOn}`;
    case 'fix-host': return `fix|${f.instanceUuid}|${f.from ?? ''}|${f.to}`;
    case 'switched-over': return `switched|${f.migrationId}|${f.host}`;
    case 'delete-claim': return `claim|${f.migrationId}`;
  }
}

/** The findings of the second look that the first look also had: what a non-atomic snapshot cannot fake twice. */
export function confirmedFindings(first: AuditFindings, second: AuditFindings): AuditFindings {
  const seen = new Set([...first.anomalies, ...first.actions].map(keyOf));
  return { anomalies: second.anomalies.filter((a) => seen.has(keyOf(a))), actions: second.actions.filter((a) => seen.has(keyOf(a))) };
}

/** Hosts to list again to confirm `f`: every host that holds, or should hold, a copy of an instance concerned. */
export function involvedHosts(f: AuditFindings, s: AuditSnapshot): string[] {
  const uuids = new Set<string>();
  const hosts = new Set<string>();
  for (const a of f.anomalies) {
    if (a.instanceUuid) uuids.add(a.instanceUuid);
    for (const h of a.hosts) hosts.add(h);
  }
  for (const a of f.actions) {
    uuids.add(a.instanceUuid);
    if (a.kind === 'fix-host') { if (a.from) hosts.add(a.from); hosts.add(a.to); } else if (a.kind !== 'delete-claim') hosts.add(a.host);
  }
  for (const i of s.instances) if (uuids.has(i.uuid) && i.host) hosts.add(i.host);
  for (const [host, list] of s.guests) if (list.some((g) => uuids.has(g.uuid))) hosts.add(host);
  return [...hosts].sort();
}

export function isEmpty(f: AuditFindings): boolean {
  return f.anomalies.length === 0 && f.actions.length === 0;
}

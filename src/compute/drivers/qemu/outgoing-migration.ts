/**
 * The source side of live_migration: configure capabilities and parameters, run `migrate`, follow it
 * with the monitor, and turn QEMU's final status into a result or a typed error. A migration a previous
 * agent started (QEMU kept copying while the agent restarted) is followed the same way once adopted.
 * On any failure the source guest is left running (resumed if force-complete had paused it), unless
 * QEMU shows that the guest switched over after all.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { BatonError } from '../../../core/errors.js';
import type { Progress } from '../../../core/migration-state.js';
import type { MigrateRequest, MigrateResult } from '../../driver-port.js';
import { writeMarker, type OutgoingMarker } from './migration-markers.js';
import { MigrationMonitor, type MonitorOutcome } from './migration-monitor.js';
import { downtimeSteps } from './monitor-policy.js';
import type { ResolvedQemuConfig } from './qemu-config.js';
import type { OutgoingRecord, QemuInstance } from './qemu-instance.js';
import { ACTIVE_STATUSES, POSTCOPY_STATUSES, resultOf, sourceFacts, switchedOver, switchOverEvidence, type SourceFacts } from './source-facts.js';

const MIB = 1024 * 1024;
/** QEMU has no "unlimited" bandwidth; libvirt passes a huge value the same way. */
const UNLIMITED_BANDWIDTH = 2 ** 52;
const MIGRATION_URI = /^tcp:(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):\d{1,5}$/;

export function checkMigrationUri(uri: unknown): string {
  if (typeof uri !== 'string' || !MIGRATION_URI.test(uri)) {
    throw new BatonError('InvalidRequest', `invalid migration uri ${JSON.stringify(uri)}`, { field: 'incoming.uri' });
  }
  return uri;
}

/**
 * What migrate() does, decided from QEMU's facts under the guest's lock: report a completion, follow a copy
 * a previous agent started, report how it ended, refuse, or start the copy. The returned work runs outside
 * the lock.
 */
export async function planOutgoing(
  cfg: ResolvedQemuConfig, inst: QemuInstance, rec: OutgoingRecord, req: MigrateRequest, onProgress: (p: Progress) => void,
): Promise<() => Promise<MigrateResult>> {
  const f = await sourceFacts(inst);
  const uuid = req.guest.uuid;
  // The marker is written before `migrate` is sent: an active or completed copy under it is this migration's.
  if (f.marker?.migrationId === req.migrationId) {
    const marker = f.marker;
    if (f.runState === 'postmigrate' || f.status === 'completed') {
      const result = resultOf(f.info, inst.postcopyStarted);
      return async () => result;
    }
    if (ACTIVE_STATUSES.has(f.status)) return () => follow(cfg, inst, rec, req, monitorFor(cfg, inst, rec, marker.postcopy, onProgress));
    if (marker.issued && (f.status === 'failed' || f.status === 'cancelled')) return () => endedUnwatched(cfg, inst, req, f);
  }
  const fields = { uuid, host: cfg.host };
  if (ACTIVE_STATUSES.has(f.status)) throw new BatonError('InstanceInvalidState', `instance ${uuid} is migrating (migration ${f.marker?.migrationId ?? 'unknown'})`, fields);
  if (f.runState !== 'running' && f.runState !== 'paused') throw new BatonError('InstanceInvalidState', `instance ${uuid} is ${f.runState}, not running`, fields);
  if (rec.abortRequested) throw new BatonError('MigrationCancelled', `live migration of ${uuid} cancelled`, fields);
  return () => runOutgoing(cfg, inst, rec, req, onProgress);
}

/** This migration's copy ended while no agent followed it: the guest must run here, and the outcome is QEMU's. */
async function endedUnwatched(cfg: ResolvedQemuConfig, inst: QemuInstance, req: MigrateRequest, f: SourceFacts): Promise<never> {
  await resumeSource(cfg.host, inst);
  const fields = { uuid: req.guest.uuid, migrationId: req.migrationId, host: cfg.host };
  if (f.status === 'cancelled') throw new BatonError('MigrationCancelled', `live migration of ${req.guest.uuid} was cancelled`, fields);
  throw new BatonError('MigrationError', `live migration of ${req.guest.uuid} failed: ${f.info?.['error-desc'] ?? 'QEMU reports failed'}`, fields);
}

export async function runOutgoing(
  cfg: ResolvedQemuConfig, inst: QemuInstance, rec: OutgoingRecord, req: MigrateRequest, onProgress: (p: Progress) => void,
): Promise<MigrateResult> {
  const uri = checkMigrationUri(req.incoming.uri);
  const { policy } = cfg;
  const qmp = inst.proc.qmp;
  const usePostcopy = policy.permitPostCopy && req.incoming['postcopy'] === true;
  // Nova does not combine them: post-copy makes auto-converge's guest throttling unnecessary.
  const autoConverge = policy.permitAutoConverge && !usePostcopy;
  await qmp.execute('migrate-set-capabilities', {
    capabilities: [
      { capability: 'events', state: true },
      { capability: 'postcopy-ram', state: usePostcopy },
      { capability: 'auto-converge', state: autoConverge },
    ],
  });
  const firstLimit = downtimeSteps(policy, inst.spec.memoryMb)[0]!.downtimeMs;
  const bandwidth = policy.maxBandwidthMibps === 0 ? UNLIMITED_BANDWIDTH : policy.maxBandwidthMibps * MIB;
  await qmp.execute('migrate-set-parameters', { 'downtime-limit': firstLimit, 'max-bandwidth': bandwidth });
  const marker: OutgoingMarker = { migrationId: req.migrationId, uri, postcopy: usePostcopy, issued: false };
  await writeMarker(inst.paths.outgoingMarker, marker);
  const monitor = monitorFor(cfg, inst, rec, usePostcopy, onProgress);
  await qmp.execute('migrate', { uri });
  // From here QEMU's migrate status is this migration's, even for a guest that arrived here by migration.
  await writeMarker(inst.paths.outgoingMarker, { ...marker, issued: true });
  return follow(cfg, inst, rec, req, monitor);
}

function monitorFor(cfg: ResolvedQemuConfig, inst: QemuInstance, rec: OutgoingRecord, postcopy: boolean, onProgress: (p: Progress) => void): MigrationMonitor {
  const monitor = new MigrationMonitor({
    qmp: inst.proc.qmp, policy: cfg.policy, memoryMb: inst.spec.memoryMb, clock: cfg.clock, postcopyReady: postcopy,
    sourceAlive: () => inst.proc.alive, onProgress,
  });
  rec.cancel = () => monitor.cancel('requested');
  rec.force = async () => {
    await monitor.forceComplete();
    if (postcopy && cfg.policy.permitPostCopy) inst.postcopyStarted = true;
  };
  return monitor;
}

async function follow(cfg: ResolvedQemuConfig, inst: QemuInstance, rec: OutgoingRecord, req: MigrateRequest, monitor: MigrationMonitor): Promise<MigrateResult> {
  // Requests that arrived while the migration was being set up.
  if (rec.abortRequested) await monitor.cancel('requested');
  else if (rec.forceRequested) await rec.force?.();
  let outcome: MonitorOutcome;
  try {
    outcome = await monitor.run();
  } catch (err) {
    outcome = { status: 'failed', error: (err as Error).message };
  }
  if (outcome.status === 'completed') {
    if (outcome.postcopy) inst.postcopyStarted = true;
    return completedResult(inst, outcome);
  }
  const facts = await sourceFacts(inst);
  // Lost track (a QMP error) of a copy that QEMU completed: the guest runs on the destination.
  if (facts.status === 'completed' && facts.runState === 'postmigrate') return resultOf(facts.info, inst.postcopyStarted);
  return failed(cfg, inst, req, outcome);
}

async function completedResult(inst: QemuInstance, outcome: Extract<MonitorOutcome, { status: 'completed' }>): Promise<MigrateResult> {
  await settlePostmigrate(inst);
  // QEMU sets status `completed` (and sends the MIGRATION event) before it computes downtime and total
  // time, which it does in the same critical section that sets run state postmigrate: ask again now.
  const times = await inst.migrateInfo();
  const settled = times?.status === 'completed' && (times['total-time'] ?? 0) > 0 ? times : null;
  return {
    downtimeMs: settled?.downtime ?? outcome.downtimeMs, totalTimeMs: settled?.['total-time'] ?? outcome.totalTimeMs, postcopy: outcome.postcopy,
    transferredBytes: outcome.transferredBytes, passes: outcome.passes,
  };
}

/**
 * The copy failed or was cancelled: the guest keeps running here. After post-copy started it cannot (its
 * state lives on the destination), and resumeSource says so with MigrationSwitchedOver.
 */
async function failed(cfg: ResolvedQemuConfig, inst: QemuInstance, req: MigrateRequest, outcome: Exclude<MonitorOutcome, { status: 'completed' }>): Promise<never> {
  const fields = { uuid: inst.spec.uuid, migrationId: req.migrationId, host: cfg.host };
  await resumeSource(cfg.host, inst);
  if (outcome.status === 'cancelled') {
    if (outcome.reason === 'requested') throw new BatonError('MigrationCancelled', `live migration of ${inst.spec.uuid} cancelled`, fields);
    const why = outcome.reason === 'timeout' ? 'did not complete within the completion timeout' : 'made no progress within the stall timeout';
    throw new BatonError('MigrationError', `live migration of ${inst.spec.uuid} ${why}; aborted`, { ...fields, reason: outcome.reason });
  }
  throw new BatonError('MigrationError', `live migration of ${inst.spec.uuid} failed: ${outcome.error}`, fields);
}

/** QEMU reports `completed` a moment before its run state leaves finish-migrate for postmigrate. */
async function settlePostmigrate(inst: QemuInstance): Promise<void> {
  for (let i = 0; i < 2_500; i++) {
    const state = await inst.runState();
    if (state !== 'finish-migrate') return;
    await delay(2);
  }
}

/**
 * Makes sure the source guest runs after a failed or cancelled migration: QEMU restarts a guest that was
 * running when the migration began; one paused by force-complete needs `cont`. A guest whose state moved
 * to the destination (run state postmigrate, migrate status completed, post-copy started) is never
 * resumed: that would run it twice. It throws MigrationSwitchedOver instead.
 */
export async function resumeSource(host: string, inst: QemuInstance): Promise<void> {
  if (!inst.proc.alive) return;
  const facts = await sourceFacts(inst);
  const evidence = switchOverEvidence(facts, inst);
  if (evidence !== null) throw switchedOver(host, inst, evidence);
  if (facts.runState === 'paused') await inst.proc.qmp.execute('cont').catch(() => undefined);
}

/**
 * Cancels an outgoing migration QEMU runs without a monitor of this agent (it was started by a previous
 * one), and waits until QEMU left the active statuses, up to `timeoutMs`. Post-copy cannot be cancelled.
 */
export async function cancelAdopted(inst: QemuInstance, timeoutMs: number): Promise<void> {
  const facts = await sourceFacts(inst);
  if (!ACTIVE_STATUSES.has(facts.status) || POSTCOPY_STATUSES.has(facts.status)) return;
  await inst.proc.qmp.execute('migrate_cancel').catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && inst.proc.alive && ACTIVE_STATUSES.has((await sourceFacts(inst)).status)) await delay(20);
}

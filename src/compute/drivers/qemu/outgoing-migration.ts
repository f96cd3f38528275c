/**
 * The source side of live_migration: configure capabilities and parameters, run `migrate`, follow it
 * with the monitor, and turn QEMU's final status into a result or a typed error. On any failure the
 * source guest is left running (resumed if force-complete had paused it).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { BatonError } from '../../../core/errors.js';
import type { Progress } from '../../../core/migration-state.js';
import type { MigrateRequest, MigrateResult } from '../../driver-port.js';
import { MigrationMonitor, type MonitorOutcome } from './migration-monitor.js';
import { downtimeSteps } from './monitor-policy.js';
import type { ResolvedQemuConfig } from './qemu-config.js';
import type { OutgoingRecord, QemuInstance } from './qemu-instance.js';
import type { QueryMigrate } from './query-migrate.js';

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

export async function runOutgoing(
  cfg: ResolvedQemuConfig, inst: QemuInstance, rec: OutgoingRecord, req: MigrateRequest, onProgress: (p: Progress) => void,
): Promise<MigrateResult> {
  const uri = checkMigrationUri(req.incoming.uri);
  const { policy } = cfg;
  const qmp = inst.proc.qmp;
  const usePostcopy = policy.permitPostCopy && req.incoming.postcopy === true;
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
  const monitor = new MigrationMonitor({
    qmp, policy, memoryMb: inst.spec.memoryMb, clock: cfg.clock, postcopyReady: usePostcopy,
    sourceAlive: () => inst.proc.alive, onProgress,
  });
  rec.cancel = () => monitor.cancel('requested');
  rec.force = async () => {
    await monitor.forceComplete();
    if (usePostcopy) inst.postcopyStarted = true;
  };
  await qmp.execute('migrate', { uri });
  // Requests that arrived while the migration was being set up.
  if (rec.abortRequested) await monitor.cancel('requested');
  else if (rec.forceRequested) await rec.force();
  let outcome: MonitorOutcome;
  try {
    outcome = await monitor.run();
  } catch (err) {
    outcome = { status: 'failed', error: (err as Error).message };
  }
  if (outcome.status === 'completed') {
    if (outcome.postcopy) inst.postcopyStarted = true;
    await settlePostmigrate(inst);
    // QEMU sets status `completed` (and sends the MIGRATION event) before it computes downtime and total
    // time, which it does in the same critical section that sets run state postmigrate: ask again now.
    const times = await qmp.execute<QueryMigrate>('query-migrate').catch(() => null);
    const settled = times?.status === 'completed' && (times['total-time'] ?? 0) > 0 ? times : null;
    return {
      downtimeMs: settled?.downtime ?? outcome.downtimeMs, totalTimeMs: settled?.['total-time'] ?? outcome.totalTimeMs, postcopy: outcome.postcopy,
      transferredBytes: outcome.transferredBytes, passes: outcome.passes,
    };
  }
  await resumeSource(inst);
  const fields = { uuid: inst.spec.uuid, migrationId: req.migrationId };
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
 * Makes sure the source guest runs after a failed or cancelled migration. QEMU restarts a guest that was
 * running when the migration began; one paused by force-complete needs `cont`. After post-copy started
 * the source no longer holds the whole guest, so it must not be resumed.
 */
export async function resumeSource(inst: QemuInstance): Promise<void> {
  if (inst.postcopyStarted || !inst.proc.alive) return;
  const state = await inst.runState();
  if (state === 'paused' || state === 'postmigrate') {
    await inst.proc.qmp.execute('cont').catch(() => undefined);
  }
}

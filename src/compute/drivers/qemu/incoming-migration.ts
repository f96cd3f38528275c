/**
 * The destination side: pre_live_migration starts QEMU with `-incoming defer`, sets the capabilities
 * that must match the source's, and listens with migrate-incoming on a port QEMU picks (port 0), which
 * query-migrate then reports. post_live_migration_at_destination waits for the load to finish and
 * makes sure the guest runs.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { BatonError } from '../../../core/errors.js';
import type { GuestSpec, IncomingInfo } from '../../driver-port.js';
import type { ResolvedQemuConfig } from './qemu-config.js';
import { writeMarker } from './migration-markers.js';
import { QemuInstance } from './qemu-instance.js';
import type { QueryMigrate } from './query-migrate.js';

export async function startIncoming(cfg: ResolvedQemuConfig, guest: GuestSpec, migrationId: number, machine: string): Promise<QemuInstance> {
  const inst = await QemuInstance.start(cfg, guest, machine, true);
  try {
    const qmp = inst.proc.qmp;
    await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
    // Post-copy needs userfaultfd on the destination; when the host lacks it, the source falls back to pre-copy.
    const postcopy = cfg.policy.permitPostCopy && await qmp.execute('migrate-set-capabilities', {
      capabilities: [{ capability: 'postcopy-ram', state: true }],
    }).then(() => true, () => false);
    const host = cfg.migrationAddress.includes(':') ? `[${cfg.migrationAddress}]` : cfg.migrationAddress;
    await qmp.execute('migrate-incoming', { uri: `tcp:${host}:0` });
    const port = await listeningPort(inst);
    const info: IncomingInfo = { uri: `tcp:${host}:${port}`, postcopy, machine, migrationId };
    // A restarted agent adopts this QEMU still listening, and answers a repeated prepare with the same address.
    await writeMarker(inst.paths.incomingMarker, { migrationId, info });
    inst.incoming = { migrationId, info };
    return inst;
  } catch (err) {
    await inst.remove();
    throw new BatonError('MigrationError', `cannot prepare incoming migration of ${guest.uuid} on ${cfg.host}: ${(err as Error).message}`,
      { host: cfg.host, uuid: guest.uuid });
  }
}

async function listeningPort(inst: QemuInstance): Promise<number> {
  const info = await inst.proc.qmp.execute<QueryMigrate>('query-migrate');
  const port = Number(info['socket-address']?.find((a) => a.type === 'inet')?.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error('QEMU did not report the incoming migration port');
  return port;
}

/** Waits until QEMU has loaded the whole guest, then resumes it if it arrived paused. */
export async function waitIncomingDone(cfg: ResolvedQemuConfig, inst: QemuInstance): Promise<void> {
  const deadline = Date.now() + cfg.finishTimeoutMs;
  for (;;) {
    const state = await inst.runState();
    if (state === 'gone') {
      throw new BatonError('MigrationError', `destination QEMU of ${inst.spec.uuid} exited (${inst.proc.describeExit()})`,
        { host: cfg.host, uuid: inst.spec.uuid });
    }
    if (state === 'running') return;
    // A guest paused by force-complete arrives paused: the destination resumes it.
    if (state === 'paused' || state === 'postmigrate') {
      await inst.proc.qmp.execute('cont');
      return;
    }
    if (Date.now() > deadline) {
      throw new BatonError('MigrationError', `incoming migration of ${inst.spec.uuid} did not finish within ${cfg.finishTimeoutMs} ms (state ${state})`,
        { host: cfg.host, uuid: inst.spec.uuid, state });
    }
    await delay(20);
  }
}

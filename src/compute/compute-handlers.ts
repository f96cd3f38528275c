/** What each compute RPC method does on this host, mapped onto the hypervisor driver. */
import type { Static } from '@sinclair/typebox';
import type { Flavor } from '../core/model.js';
import type { Progress } from '../core/migration-state.js';
import { Step } from '../core/migration-steps.js';
import type { GuestSpec, HypervisorDriver, IncomingInfo } from './driver-port.js';
import type { InstanceRefSchema } from '../rpc/rpc-schemas.js';

type InstanceRef = Static<typeof InstanceRefSchema>;

export function guestOf(instance: InstanceRef): GuestSpec {
  const f: Flavor = instance.flavor;
  return { uuid: instance.uuid, name: instance.name, vcpus: f.vcpus, memoryMb: f.memoryMb, diskGb: f.diskGb,
    imageRef: instance.imageRef ?? 'default' };
}

export interface StepContext {
  readonly migrationId: number;
  readonly instance: InstanceRef;
  readonly args: Record<string, unknown>;
  readonly onProgress: (p: Progress) => void;
}

/** The driver work behind each migration step. Results travel back to the conductor as plain JSON. */
export function stepWork(driver: HypervisorDriver, step: string, c: StepContext): () => Promise<Record<string, unknown>> {
  const guest = guestOf(c.instance);
  switch (step) {
    case Step.CHECK_DEST: {
      const src = c.args['source'] as { cpuModel: string; cpuFeatures: string[] };
      return () => driver.checkDestination(guest, src);
    }
    case Step.CHECK_SOURCE:
      return () => driver.checkSource(guest);
    case Step.PRE:
      return async () => ({ ...(await driver.prepareIncoming(guest, c.migrationId)) });
    case Step.MIGRATE: {
      const dest = c.args['dest'] as { host: string };
      const incoming = c.args['migrateData'] as IncomingInfo;
      return async () => ({ ...(await driver.migrate({ guest, migrationId: c.migrationId, destHost: dest.host, incoming }, c.onProgress)) });
    }
    case Step.POST_SOURCE:
      return async () => { await driver.cleanupSource(guest.uuid); return {}; };
    case Step.POST_DEST:
      return async () => { await driver.finishIncoming(guest.uuid); return {}; };
    case Step.ROLLBACK_SOURCE:
      return async () => { await driver.rollbackSource(guest.uuid); return {}; };
    case Step.ROLLBACK_DEST:
      return async () => { await driver.rollbackDestination(guest.uuid); return {}; };
    case Step.ABORT:
      return async () => { await driver.abortMigration(guest.uuid); return {}; };
    case Step.FORCE_COMPLETE:
      return async () => { await driver.forceComplete(guest.uuid); return {}; };
    default:
      return async () => { throw new Error(`no work defined for step ${step}`); };
  }
}

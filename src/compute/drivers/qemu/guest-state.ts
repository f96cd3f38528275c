/** Maps QEMU's own facts (query-status run state, query-migrate status) onto the driver port's GuestState. */
import { GuestState } from '../../driver-port.js';
import type { QemuInstance } from './qemu-instance.js';
import { ACTIVE_STATUSES } from './source-facts.js';

/**
 * `runState` from query-status; `outgoingStatus` is query-migrate's status when it describes an outgoing
 * migration (see source-facts.ts). Returns null for a guest whose QEMU is gone: it no longer exists here.
 */
export function toGuestState(runState: string, outgoingStatus: string, inst: QemuInstance): GuestState | null {
  switch (runState) {
    case 'gone':
      return null;
    case 'inmigrate':
      return GuestState.INCOMING;
    case 'prelaunch':
      return inst.incoming ? GuestState.INCOMING : GuestState.PAUSED;
    case 'postmigrate':
    case 'finish-migrate':
      return GuestState.POSTMIGRATE;
    default:
      if (ACTIVE_STATUSES.has(outgoingStatus)) return GuestState.MIGRATING;
      // paused, suspended, io-error, guest-panicked, ...: not running, not migrating.
      return runState === 'running' ? GuestState.RUNNING : GuestState.PAUSED;
  }
}

/** Maps QEMU's run state (query-status) onto the driver port's GuestState. */
import { GuestState } from '../../driver-port.js';
import type { QemuInstance } from './qemu-instance.js';

/** Returns null for a guest whose QEMU is gone: it no longer exists on this host. */
export function toGuestState(runState: string, inst: QemuInstance): GuestState | null {
  if (runState === 'gone') return null;
  if (inst.outgoing && !inst.outgoing.settled) return GuestState.MIGRATING;
  switch (runState) {
    case 'running':
      return GuestState.RUNNING;
    case 'inmigrate':
    case 'prelaunch':
      return inst.incoming ? GuestState.INCOMING : GuestState.PAUSED;
    case 'postmigrate':
    case 'finish-migrate':
      return GuestState.POSTMIGRATE;
    default:
      // paused, suspended, io-error, guest-panicked, ...: not running, not migrating.
      return inst.incoming ? GuestState.INCOMING : GuestState.PAUSED;
  }
}

/**
 * One simulated live migration on the fake hypervisor: pre-copy passes from the pure model, spent on
 * the injectable clock in slices, with progress, abort, forced completion (post-copy or pause) and
 * Nova's completion timeout, then the hand-over to the destination over the fabric stream.
 */
import { BatonError } from '../../../core/errors.js';
import type { Progress } from '../../../core/migration-state.js';
import type { Clock } from '../../../core/ports.js';
import { nextPass, type PrecopyParams, type PrecopyPass } from '../../../core/precopy-model.js';
import type { MigrateRequest, MigrateResult } from '../../driver-port.js';
import type { MigrationStream } from './fake-fabric.js';
import type { FaultPlan } from './fault-plan.js';
import type { FakeMigrationPolicy } from './fake-driver.js';

/** Longest stretch of simulated copying between two looks at abort, force-complete and the stream. */
const PASS_SLICE_MS = 500;

/** Flags the driver sets while the copy runs (abortMigration, forceComplete). */
export interface CopyFlags {
  readonly aborted: boolean;
  forced: boolean;
}

export interface CopyContext {
  readonly clock: Clock;
  readonly policy: FakeMigrationPolicy;
  readonly faults: FaultPlan;
  readonly flags: CopyFlags;
  readonly req: MigrateRequest;
  readonly stream: MigrationStream;
  readonly onProgress: (p: Progress) => void;
  /** Called when the source stops for good and hands its last state over, before the destination confirms. */
  readonly switchOver: () => void;
}

function mibToBytes(mib: number): number {
  return Math.round(mib * 1024 * 1024);
}

/** Resolves once the destination confirmed it runs the guest; rejects (source untouched) otherwise. */
export async function copyGuest(c: CopyContext): Promise<MigrateResult> {
  const start = c.clock.now();
  const total = mibToBytes(c.req.guest.memoryMb);
  let prev: PrecopyPass | null = null;
  let processed = 0;
  for (;;) {
    await c.faults.before('migrate.pass', c.req.guest);
    const pass = nextPass(params(c), prev);
    const cut = await sendPass(c, pass, (f) => c.onProgress(progress(c, total, processed + mibToBytes(pass.sentMib * f),
      pass.sentMib * (1 - f) + pass.remainingMib * f, pass)));
    processed += mibToBytes(pass.sentMib);
    if (cut === 'postcopy' || (c.flags.forced && c.policy.postcopyAllowed)) {
      c.onProgress({ ...progress(c, total, processed, pass.remainingMib, pass), postcopy: true });
      return handOver(c, 0, start, true);
    }
    c.onProgress(progress(c, total, processed, pass.remainingMib, pass));
    if (pass.converged) return handOver(c, pass.expectedDowntimeMs, start, false);
    if (c.clock.now() - start >= c.policy.completionTimeoutMs || pass.iteration + 1 >= c.policy.maxPasses) {
      if (c.policy.timeoutAction === 'abort') {
        throw new BatonError('MigrationError', `live migration of ${c.req.guest.uuid} did not converge after ${pass.iteration + 1} passes; aborted`);
      }
      c.flags.forced = true;
    }
    prev = pass;
  }
}

/**
 * Spends one pass's time in slices, so progress shows within a long pass and an abort, a forced
 * post-copy or a vanished destination takes effect within one slice.
 */
async function sendPass(c: CopyContext, pass: PrecopyPass, report: (fraction: number) => void): Promise<'done' | 'postcopy'> {
  let spent = 0;
  do {
    const slice = Math.min(PASS_SLICE_MS, pass.durationMs - spent);
    await c.clock.sleep(slice);
    spent += slice;
    if (c.flags.aborted) throw new BatonError('MigrationCancelled', `migration of ${c.req.guest.uuid} cancelled by request`);
    if (!c.stream.alive) throw new BatonError('MigrationError', `migration stream to ${c.req.incoming.uri} reset: the destination went away`);
    if (c.flags.forced && c.policy.postcopyAllowed) return 'postcopy';
    if (spent < pass.durationMs) report(spent / pass.durationMs);
  } while (spent < pass.durationMs);
  return 'done';
}

/** Forced completion without post-copy pauses the guest, so it stops dirtying memory. */
function params(c: CopyContext): PrecopyParams {
  const paused = c.flags.forced && !c.policy.postcopyAllowed;
  return { memoryMib: c.req.guest.memoryMb, dirtyRateMibs: paused ? 0 : c.policy.dirtyRateMibs, bandwidthMibs: c.policy.bandwidthMibs,
    downtimeLimitMs: c.policy.downtimeLimitMs, autoConverge: c.policy.autoConverge };
}

function progress(c: CopyContext, total: number, processed: number, remainingMib: number, pass: PrecopyPass): Progress {
  return { memoryTotal: total, memoryProcessed: processed, memoryRemaining: mibToBytes(remainingMib), diskTotal: 0, diskProcessed: 0,
    diskRemaining: 0, iteration: pass.iteration, expectedDowntimeMs: pass.expectedDowntimeMs, dirtyRateMbps: c.policy.dirtyRateMibs };
}

/** The guest counts as migrated only once the destination confirmed it runs it. */
async function handOver(c: CopyContext, downtimeMs: number, start: number, postcopy: boolean): Promise<MigrateResult> {
  await c.clock.sleep(downtimeMs);
  if (c.flags.aborted) throw new BatonError('MigrationCancelled', `migration of ${c.req.guest.uuid} cancelled by request`);
  c.switchOver();
  await c.stream.finish({ uuid: c.req.guest.uuid, counter: 0 });
  return { downtimeMs, totalTimeMs: c.clock.now() - start, postcopy };
}

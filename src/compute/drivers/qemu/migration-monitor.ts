/**
 * Follows one outgoing migration on the source QEMU: polls query-migrate (woken early by MIGRATION
 * events), reports progress, raises the downtime limit step by step, and applies the completion timeout
 * and stall detection of the monitor policy. Abort and force-complete requests come in from outside.
 */
import type { Clock } from '../../../core/ports.js';
import type { Progress } from '../../../core/migration-state.js';
import type { QmpClient } from './qmp-client.js';
import { completionTimeoutMs, downtimeSteps, type MonitorPolicy } from './monitor-policy.js';
import { toProgress, type QueryMigrate } from './query-migrate.js';

export type CancelReason = 'requested' | 'timeout' | 'stall';

export type MonitorOutcome =
  | { readonly status: 'completed'; readonly downtimeMs: number; readonly totalTimeMs: number; readonly postcopy: boolean;
      readonly transferredBytes: number; readonly passes: number }
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'cancelled'; readonly reason: CancelReason };

export interface MonitorOptions {
  readonly qmp: QmpClient;
  readonly policy: MonitorPolicy;
  readonly memoryMb: number;
  readonly clock: Clock;
  /** postcopy-ram is set on both ends, so migrate-start-postcopy can be used. */
  readonly postcopyReady: boolean;
  readonly sourceAlive: () => boolean;
  readonly onProgress: (p: Progress) => void;
}

export class MigrationMonitor {
  readonly #o: MonitorOptions;
  #cancelReason: CancelReason | null = null;
  #forced = false;
  #paused = false;
  #postcopy = false;
  #wake: (() => void) | null = null;
  /** An event arrived while no sleep was pending: the next sleep returns at once. */
  #woken = false;

  constructor(options: MonitorOptions) {
    this.#o = options;
  }

  /** True when force-complete paused the source guest (it must be resumed if the migration fails). */
  get pausedSource(): boolean {
    return this.#paused;
  }

  /** Runs until QEMU reports a final status. The caller has already issued `migrate`. */
  async run(): Promise<MonitorOutcome> {
    const { qmp, policy, memoryMb, clock } = this.#o;
    const off = qmp.onEvent((e) => { if (e.event === 'MIGRATION' || e.event === 'MIGRATION_PASS') this.#poke(); });
    const steps = downtimeSteps(policy, memoryMb);
    const timeoutMs = completionTimeoutMs(policy, memoryMb);
    const start = clock.now();
    let step = 0;
    let lowWater = Number.POSITIVE_INFINITY;
    let lowWaterAt = start;
    try {
      for (;;) {
        if (!this.#o.sourceAlive()) return { status: 'failed', error: 'source QEMU exited during migration' };
        const info = await qmp.execute<QueryMigrate>('query-migrate');
        const final = this.#final(info);
        if (final) return final;
        if (info.status === 'postcopy-active') this.#postcopy = true;
        if (info.ram) this.#o.onProgress(toProgress(info, this.#postcopy));
        const now = clock.now();
        const elapsed = now - start;
        while (step + 1 < steps.length && steps[step + 1]!.atMs <= elapsed) {
          step++;
          if (info.status === 'active') {
            await qmp.execute('migrate-set-parameters', { 'downtime-limit': steps[step]!.downtimeMs });
          }
        }
        if (info.status === 'active' && this.#cancelReason === null && !this.#forced) {
          const remaining = info.ram?.remaining ?? Number.POSITIVE_INFINITY;
          if (remaining < lowWater) { lowWater = remaining; lowWaterAt = now; }
          if (timeoutMs > 0 && elapsed > timeoutMs) {
            if (policy.timeoutAction === 'abort') await this.cancel('timeout');
            else await this.forceComplete();
          } else if (policy.stallTimeoutS > 0 && now - lowWaterAt > policy.stallTimeoutS * 1000) {
            await this.cancel('stall');
          }
        }
        await this.#sleep(policy.pollIntervalMs);
      }
    } finally {
      off();
    }
  }

  /** migrate_cancel; the run then ends as cancelled. Safe to call more than once. */
  async cancel(reason: CancelReason): Promise<void> {
    if (this.#cancelReason !== null) return;
    this.#cancelReason = reason;
    await this.#o.qmp.execute('migrate_cancel');
    this.#poke();
  }

  /** Post-copy when it is ready on both ends, else pause the source so that pre-copy converges. */
  async forceComplete(): Promise<void> {
    if (this.#forced || this.#cancelReason !== null) return;
    this.#forced = true;
    if (this.#o.postcopyReady && this.#o.policy.permitPostCopy) {
      await this.#o.qmp.execute('migrate-start-postcopy');
    } else {
      this.#paused = true;
      await this.#o.qmp.execute('stop');
    }
    this.#poke();
  }

  #final(info: QueryMigrate): MonitorOutcome | null {
    switch (info.status) {
      case 'completed':
        return {
          status: 'completed', downtimeMs: info.downtime ?? 0, totalTimeMs: info['total-time'] ?? 0, postcopy: this.#postcopy,
          transferredBytes: info.ram?.transferred ?? 0, passes: info.ram?.['dirty-sync-count'] ?? 0,
        };
      case 'failed':
        return { status: 'failed', error: info['error-desc'] ?? 'migration failed' };
      case 'cancelled':
        return { status: 'cancelled', reason: this.#cancelReason ?? 'requested' };
      default:
        return null;
    }
  }

  #poke(): void {
    if (this.#wake) this.#wake();
    else this.#woken = true;
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => { clearTimeout(timer); this.#wake = null; resolve(); };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}

/**
 * A deterministic model of QEMU's pre-copy: the first pass sends all memory, each later pass sends
 * what the guest dirtied meanwhile, and the switch-over happens once the rest fits in the downtime
 * limit. Auto-converge throttles the guest's vCPUs (and so its dirty rate) like QEMU's
 * cpu-throttle-initial 20 / cpu-throttle-increment 10.
 */

export interface PrecopyParams {
  readonly memoryMib: number;
  readonly dirtyRateMibs: number;
  /** MiB/s; 0 or less means the copy takes no time at all. */
  readonly bandwidthMibs: number;
  readonly downtimeLimitMs: number;
  readonly autoConverge: boolean;
}

export interface PrecopyPass {
  readonly iteration: number;
  /** MiB sent in this pass. */
  readonly sentMib: number;
  readonly durationMs: number;
  /** MiB dirtied while this pass ran: what is left to send afterwards. */
  readonly remainingMib: number;
  readonly throttlePct: number;
  /** True when what is left can be sent within the downtime limit. */
  readonly converged: boolean;
  /** Expected downtime if the guest were stopped after this pass. */
  readonly expectedDowntimeMs: number;
}

export function throttleFor(iteration: number, autoConverge: boolean): number {
  // QEMU starts throttling once the dirty rate keeps outrunning the copy; modelled as from the third pass.
  if (!autoConverge || iteration < 2) return 0;
  return Math.min(99, 20 + 10 * (iteration - 2));
}

/** Computes the pass after `prev` (or the first pass when prev is null). Pure and deterministic. */
export function nextPass(p: PrecopyParams, prev: PrecopyPass | null): PrecopyPass {
  const iteration = prev === null ? 0 : prev.iteration + 1;
  const sentMib = prev === null ? p.memoryMib : prev.remainingMib;
  if (p.bandwidthMibs <= 0) {
    return { iteration, sentMib, durationMs: 0, remainingMib: 0, throttlePct: 0, converged: true, expectedDowntimeMs: 0 };
  }
  const durationMs = (sentMib / p.bandwidthMibs) * 1000;
  const throttlePct = throttleFor(iteration, p.autoConverge);
  const rate = p.dirtyRateMibs * (1 - throttlePct / 100);
  const remainingMib = Math.min(p.memoryMib, (rate * durationMs) / 1000);
  const expectedDowntimeMs = (remainingMib / p.bandwidthMibs) * 1000;
  return { iteration, sentMib, durationMs, remainingMib, throttlePct, converged: expectedDowntimeMs <= p.downtimeLimitMs, expectedDowntimeMs };
}

/** The whole run, up to `maxPasses`; the last pass tells whether it converged. */
export function simulatePrecopy(p: PrecopyParams, maxPasses: number): PrecopyPass[] {
  const passes: PrecopyPass[] = [];
  let prev: PrecopyPass | null = null;
  while (passes.length < maxPasses) {
    prev = nextPass(p, prev);
    passes.push(prev);
    if (prev.converged) break;
  }
  return passes;
}
